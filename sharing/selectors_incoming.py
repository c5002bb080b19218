"""Images shared with the team, grouped by owner and image line (docs/design.md, "Incoming
lines and trust rules").

The grouping reads only the properties the owner's side writes on each version (`image_line`,
`image_line_version`, `image_line_state`, `image_line_replacement`, `provided_until`), so it
works for lines of any owner, on this dashboard or not. They come from another account:
a version that is not a number sorts last, a state other than `deprecated` is `active`, a
date that does not parse is shown as none.
"""

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

from sharing.cloud import Image
from sharing.services.lines import P_LINE, P_REPLACEMENT, P_STATE, P_UNTIL, P_VERSION

ACTIVE, DEPRECATED = "active", "deprecated"


@dataclass(frozen=True)
class IncomingVersion:
    image: Image
    status: str  # our member status
    number: int | None
    state: str  # active | deprecated
    replacement: str | None  # deprecated: the image that replaces it
    revoke_on: date | None  # deprecated: the day the owner revokes it
    replacement_number: int | None = None  # the replacement's version, when it is shared too


@dataclass
class IncomingLine:
    owner: str
    line: str
    versions: list[IncomingVersion] = field(default_factory=list)  # newest first

    @property
    def newest_active(self) -> IncomingVersion | None:
        return next((v for v in self.versions if v.state == ACTIVE), None)


def incoming_grouped(
    rows: list[tuple[Image, str]],
) -> tuple[list[IncomingLine], list[tuple[Image, str]]]:
    """The lines (by owner, then slug), each newest version first; and the plain images."""
    lines: dict[tuple[str, str], IncomingLine] = {}
    plain: list[tuple[Image, str]] = []
    for image, status in rows:
        slug = image.properties.get(P_LINE, "").strip()
        if not slug:
            plain.append((image, status))
            continue
        key = (image.owner or "", slug)
        lines.setdefault(key, IncomingLine(*key)).versions.append(_version(image, status))
    for line in lines.values():
        line.versions = _ordered(line.versions)
    return [lines[key] for key in sorted(lines)], plain


def _version(image: Image, status: str) -> IncomingVersion:
    props = image.properties
    deprecated = props.get(P_STATE, "").strip() == DEPRECATED
    return IncomingVersion(
        image=image,
        status=status,
        number=_number(props.get(P_VERSION)),
        state=DEPRECATED if deprecated else ACTIVE,
        replacement=(props.get(P_REPLACEMENT) or None) if deprecated else None,
        revoke_on=_day(props.get(P_UNTIL)) if deprecated else None,
    )


def _ordered(versions: list[IncomingVersion]) -> list[IncomingVersion]:
    """Newest first: by version number, then by creation; unnumbered ones last."""
    oldest = datetime.min.replace(tzinfo=UTC)
    versions.sort(key=lambda v: (v.image.created_at or oldest, v.image.id), reverse=True)
    versions.sort(key=lambda v: (v.number is None, -(v.number or 0)))
    numbers = {v.image.id: v.number for v in versions}
    return [replace(v, replacement_number=numbers.get(v.replacement or "")) for v in versions]


def _number(value: str | None) -> int | None:
    try:
        number = int((value or "").strip())
    except ValueError:
        return None
    return number if number > 0 else None


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        return None
