"""`OIDC_TEAM_ROLE_MAP`: how the identity provider's groups become team roles.

Plain Python (settings.py reads it before Django is set up). Two forms:

- a pattern with `{team}` and `{role}`, e.g. `img-{team}-{role}`: the group `img-acme-admin`
  makes its holder an admin of team `acme`;
- explicit pairs, `group=team:role` separated by commas, for directories whose group names
  cannot follow a pattern: `Image Admins=acme:admin, Auditors=acme:auditor`.

A group that names a team the dashboard does not have, or no role, gives nothing.
"""

import re
from dataclasses import dataclass, field

# The team roles of sharing.models.Role, weakest first (a test keeps the two lists equal).
ROLE_NAMES = ("auditor", "viewer", "member", "admin")
SLUG = r"[-a-zA-Z0-9_]+"


class RoleMapError(ValueError):
    """A map that cannot work; the message says why."""


@dataclass(frozen=True)
class RoleMap:
    pattern: re.Pattern[str] | None = None
    pairs: dict[str, tuple[str, str]] = field(default_factory=dict)
    source: str = ""

    def roles(self, groups: list[str]) -> dict[str, str]:
        """Team slug → role from the groups; the strongest role wins where several match."""
        found: dict[str, str] = {}
        for group in groups:
            match = self._match(group)
            if match is None:
                continue
            team, role = match
            if team not in found or ROLE_NAMES.index(role) > ROLE_NAMES.index(found[team]):
                found[team] = role
        return found

    def example(self) -> str:
        """A group that would make someone a viewer, to tell people what to ask for."""
        if self.pattern is not None:
            return self.source.replace("{team}", "<team>").replace("{role}", "viewer")
        return next(iter(self.pairs), "")

    def _match(self, group: str) -> tuple[str, str] | None:
        if self.pattern is not None:
            m = self.pattern.fullmatch(group)
            return (m["team"], m["role"]) if m else None
        return self.pairs.get(group)


def parse(raw: str) -> RoleMap:
    raw = raw.strip()
    if "{" in raw:
        return _parse_pattern(raw)
    pairs: dict[str, tuple[str, str]] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        group, _, target = item.rpartition("=")
        team, _, role = target.partition(":")
        if not group.strip() or not re.fullmatch(SLUG, team.strip()) or not role:
            raise RoleMapError(f"{item!r} is not group=team:role.")
        if role.strip() not in ROLE_NAMES:
            raise RoleMapError(f"{role.strip()!r} is not a role; use one of {_names()}.")
        pairs[group.strip()] = (team.strip(), role.strip())
    if not pairs:
        raise RoleMapError("it is empty; use a pattern such as img-{team}-{role}.")
    return RoleMap(pairs=pairs)


def _parse_pattern(raw: str) -> RoleMap:
    names = re.findall(r"\{([^{}]*)\}", raw)
    unknown = [name for name in names if name not in ("team", "role")]
    if unknown:
        raise RoleMapError(
            f"{{{unknown[0]}}} is not a placeholder; a pattern has {{team}} and {{role}}."
        )
    if sorted(names) != ["role", "team"]:
        raise RoleMapError("a pattern needs {team} and {role}, each once.")
    parts = re.split(r"(\{team\}|\{role\})", raw)
    regex = "".join(
        f"(?P<team>{SLUG}?)" if part == "{team}"
        else f"(?P<role>{'|'.join(ROLE_NAMES)})" if part == "{role}"
        else re.escape(part)
        for part in parts
    )  # fmt: skip
    return RoleMap(pattern=re.compile(regex), source=raw)


def _names() -> str:
    return ", ".join(ROLE_NAMES)
