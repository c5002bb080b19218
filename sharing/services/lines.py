"""Image lines: a series of one team's images, each new version shared with every subscriber
(docs/design.md, "Image lines").

Versions are shared and revoked through the same ledgered, settled paths as any share
(`shares.share_to`, `shares.share_revoke`); `ledger.about_line` makes their entries name the
line and version. What the dashboard knows of a version is mirrored on the image in the cloud
as properties (`image_line`, `image_line_version`, `image_line_state`,
`image_line_replacement`, `provided_until`), so the CLI and Terraform see it too.
"""

import secrets
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from sharing import notifications
from sharing.cloud import CloudError, Image, NotFound
from sharing.clouds import client_for
from sharing.models import (
    AccessRequest,
    Action,
    LedgerEntry,
    Line,
    LineChannel,
    LineSubscriber,
    LineVersion,
    Outcome,
    RequestStatus,
    Share,
    Team,
    VersionState,
)
from sharing.wording import error_text

from .access_requests import _claim, ledger_decision
from .errors import ApplicationError
from .ledger import (
    NAME_LENGTH,
    about_line,
    actor_name,
    ledger_attempt,
    ledger_complete,
    ledger_fail,
    ledger_record,
)
from .shares import ShareOutcome, share_revoke, share_target, share_to

LATEST = "latest"
# The properties a version carries in the cloud (docs/design.md, "Image lines").
P_LINE, P_VERSION, P_STATE = "image_line", "image_line_version", "image_line_state"
P_REPLACEMENT, P_UNTIL = "image_line_replacement", "provided_until"


class InvalidInput(ApplicationError):
    """Bad input for a line action; `field` names the input it is about (for a form or the
    API's per-field errors)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass
class PublishResult:
    """`created` is False when the image already was a version of the line: nothing was done.
    `label_error` says the properties could not be written on the image (the shares went on)."""

    version: LineVersion
    created: bool
    outcomes: list[ShareOutcome] = field(default_factory=list)
    label_error: CloudError | None = None


@dataclass
class RevokeResult:
    tenant: str
    version: int
    error: CloudError | None = None


# Lines


def line_create(
    *,
    team: Team,
    actor: User | None,
    name: str,
    slug: str,
    region: str,
    description: str = "",
    keep: int | None = None,
    grace_days: int = 0,
) -> Line:
    """A new line of the team's images in one of its regions; a slug is unique per team."""
    found = team.catalog_region(region)
    if found is None:
        raise InvalidInput("region", f"{region!r} is not one of the team's regions.")
    if keep is not None and keep < 1:
        raise InvalidInput("keep", "keep must be at least 1 (or empty: keep every version).")
    line = Line(
        team=team, region=found, slug=slug, name=name, description=description, keep=keep,
        grace_days=grace_days, created_by=actor,
    )  # fmt: skip
    try:
        line.full_clean(validate_constraints=False)
    except ValidationError as error:
        name, messages = next(iter(error.message_dict.items()))
        raise InvalidInput(name, f"{name}: {' '.join(messages)}") from None
    try:
        with transaction.atomic():
            line.save()
            _record(line, actor, Action.LINE_CREATE, note=f"Line {slug} in {found}.")
    except IntegrityError:
        raise ApplicationError(f"The team already has a line {slug!r}.") from None
    return line


def _record(
    line: Line,
    actor: User | None,
    action: str,
    *,
    version: LineVersion | None = None,
    tenant: str = "",
    note: str = "",
    access_request: AccessRequest | None = None,
) -> None:
    """A decision made in the dashboard, complete at once, naming the line and version."""
    ledger_record(
        team=line.team, actor=actor, action=action, region=line.region,
        image_id=version.image_id if version else "",
        image_name=version.image_name if version else line.name,
        tenant=tenant, note=note[:2000], access_request=access_request,
        line=line, line_version=version.number if version else None,
    )  # fmt: skip


def active_subscribers(line: Line, now: datetime | None = None) -> list[LineSubscriber]:
    now = now or timezone.now()
    return list(line.subscribers.filter(removed_at=None).filter(Q(until=None) | Q(until__gt=now)))


# Publish


def line_publish(*, line: Line, actor: User | None, image_id: str) -> PublishResult:
    """Make the image the line's next version, share it with every subscriber in one bulk
    share, move `latest` to it, and deprecate what falls out of `keep`.

    The image must be the team's own, in the line's region (NotFound otherwise). Publishing an
    image that already is a version of the line does nothing.
    """
    image_id = image_id.strip()
    if not image_id:
        raise InvalidInput("image_id", "Which image? Give its ID.")
    existing = line.versions.filter(image_id=image_id).first()
    if existing is not None:
        return PublishResult(existing, created=False)
    target = share_target(team=line.team, region=line.region, image_id=image_id, make_shared=True)
    _check_publishable(line, target.image)
    version = _version_new(line, actor, target.image)
    if version is None:  # a concurrent publish of the same image won
        return PublishResult(line.versions.get(image_id=image_id), created=False)
    label_error = _label(line, version, actor, _version_properties(version), target.image)
    outcomes: list[ShareOutcome] = []
    with about_line(line, version.number):
        for until, tenants in _by_until(active_subscribers(line)).items():
            outcomes += share_to(
                team=line.team, actor=actor, region=line.region, target=target, tenants=tenants,
                expires_at=until, note=f"Line {line.slug}, version {version.number}.",
                access_request=None,
            )  # fmt: skip
            target = replace(target, make_shared=False)  # made shared by the first group
    _apply_keep(line)
    notifications.line_published(line, version, [o.tenant for o in outcomes if o.error is None])
    return PublishResult(version, True, outcomes, label_error)


def _check_publishable(line: Line, image: Image) -> None:
    team = line.team
    if image.owner is not None and image.owner != team.tenant_id:
        raise InvalidInput(
            "image_id", f"Image {image.id} belongs to another account, not to this team."
        )
    other = LineVersion.objects.filter(line__team=team, image_id=image.id).exclude(line=line)
    if other.exists():
        raise InvalidInput("image_id", f"Image {image.id} already is a version of another line.")
    says = image.properties.get(P_LINE)
    if says and says != line.slug:
        raise InvalidInput("image_id", f"Image {image.id} says it belongs to line {says!r}.")


def _version_new(line: Line, actor: User | None, image: Image) -> LineVersion | None:
    """The next number, under a lock of the line, with its ledger entry and `latest`."""
    try:
        with transaction.atomic():
            Line.objects.select_for_update().filter(pk=line.pk).first()
            top = line.versions.aggregate(top=Max("number"))["top"] or 0
            version = LineVersion.objects.create(
                line=line, number=top + 1, image_id=image.id,
                image_name=(image.name or "")[:NAME_LENGTH], published_by=actor,
            )  # fmt: skip
            _record(line, actor, Action.PUBLISH, version=version, note=f"Version {top + 1}.")
            _channel_set(line, actor, LATEST, version, "Moves on every publish.")
    except IntegrityError:
        return None
    return version


def _by_until(subscribers: list[LineSubscriber]) -> dict[datetime | None, list[str]]:
    """Tenants grouped by the end of their subscription: one bulk share per group (usually
    one), since a share carries one end date for all its tenants."""
    groups: dict[datetime | None, list[str]] = defaultdict(list)
    for subscriber in subscribers:
        groups[subscriber.until].append(subscriber.tenant)
    return dict(groups)


# Properties in the cloud


def _version_properties(version: LineVersion) -> dict[str, str | None]:
    deprecated = version.state != VersionState.ACTIVE
    replacement = version.replacement.image_id if version.replacement else None
    return {
        P_LINE: version.line.slug,
        P_VERSION: str(version.number),
        P_STATE: VersionState.DEPRECATED if deprecated else VersionState.ACTIVE,
        P_REPLACEMENT: replacement if deprecated else None,
        P_UNTIL: version.revoke_on.isoformat() if deprecated and version.revoke_on else None,
    }


def _label(
    line: Line,
    version: LineVersion,
    actor: User | None,
    changes: dict[str, str | None],
    current: Image | None = None,
) -> CloudError | None:
    """Write the version's properties on its image, ledgered like any upstream change.
    A failure is returned, not raised: the dashboard's record stays the truth, and the next
    change of the version writes them again."""
    described = ", ".join(f"{k}={v}" if v is not None else f"-{k}" for k, v in changes.items())
    entry = ledger_attempt(
        team=line.team, actor=actor, action=Action.LABEL, region=line.region,
        image_id=version.image_id, image_name=version.image_name, note=described,
        line=line, line_version=version.number,
    )  # fmt: skip
    try:
        client = client_for(line.team, line.region)
        result = client.update_image_properties(version.image_id, changes, current=current)
    except CloudError as error:
        ledger_fail(entry, error)
        return error
    message = "" if result.http_status is not None else "The image already said so."
    ledger_complete(
        entry, Outcome.SUCCEEDED, http_status=result.http_status, request_id=result.request_id,
        message=message,
    )  # fmt: skip
    return None


# Channels


def channel_move(
    *, line: Line, actor: User | None, name: str, image_id: str, note: str = ""
) -> LineChannel:
    """Point a channel (`stable`, …) at a version of the line; a rollback is a move back.
    `latest` follows publishes and is not moved by hand."""
    if name == LATEST:
        raise ApplicationError("The latest channel moves on every publish, not by hand.")
    version = line.versions.filter(image_id=image_id.strip()).first()
    if version is None:
        raise InvalidInput("image_id", f"Image {image_id} is not a version of line {line.slug}.")
    if version.state == VersionState.RETIRED:
        raise ApplicationError(f"Version {version.number} was retired: it is shared no more.")
    with transaction.atomic():
        return _channel_set(line, actor, name, version, note)


def _channel_set(
    line: Line, actor: User | None, name: str, version: LineVersion, note: str
) -> LineChannel:
    channel, _ = LineChannel.objects.update_or_create(
        line=line, name=name,
        defaults={"version": version, "note": note, "moved_by": actor,
                  "moved_at": timezone.now()},
    )  # fmt: skip
    _record(line, actor, Action.CHANNEL_MOVE, version=version, note=f"{name}: {note}".strip())
    return channel


# Deprecation and retention


def version_deprecate(
    *,
    version: LineVersion,
    actor: User | None,
    replacement_image_id: str,
    revoke_on: date,
    note: str = "",
    today: date | None = None,
) -> CloudError | None:
    """Deprecate a version: still shared until `revoke_on`, its replacement named, the
    subscribers told. Returns the error if its properties could not be written upstream."""
    line = version.line
    today = today or timezone.localdate(timezone=line.team.zone)
    replacement = line.versions.filter(image_id=replacement_image_id.strip()).first()
    if replacement is None or replacement.state != VersionState.ACTIVE:
        raise InvalidInput(
            "replacement", "The replacement must be an active version of the same line."
        )
    if replacement.pk == version.pk:
        raise InvalidInput("replacement", "A version cannot replace itself.")
    if revoke_on < today:
        raise InvalidInput("revoke_on", f"{revoke_on:%Y-%m-%d} is in the past.")
    if version.state == VersionState.RETIRED:
        raise ApplicationError(f"Version {version.number} was retired already.")
    return _deprecate(version, actor, replacement, revoke_on, note)


def _deprecate(
    version: LineVersion,
    actor: User | None,
    replacement: LineVersion,
    revoke_on: date,
    note: str,
) -> CloudError | None:
    line = version.line
    with transaction.atomic():
        version.state, version.replacement, version.revoke_on = (
            VersionState.DEPRECATED, replacement, revoke_on,
        )  # fmt: skip
        version.deprecated_at = timezone.now()
        version.save()
        said = f"Replaced by version {replacement.number}; revoked on {revoke_on:%Y-%m-%d}."
        _record(line, actor, Action.DEPRECATE, version=version, note=f"{said} {note}".strip())
    error = _label(line, version, actor, _version_properties(version))
    notifications.line_deprecated(line, version, [s.tenant for s in active_subscribers(line)])
    return error


def version_restore(
    *, version: LineVersion, actor: User | None, note: str = ""
) -> CloudError | None:
    """Undo a deprecation before its date: active again, the properties say so."""
    if version.state != VersionState.DEPRECATED:
        raise ApplicationError(f"Version {version.number} is not deprecated.")
    with transaction.atomic():
        version.state, version.replacement, version.revoke_on = VersionState.ACTIVE, None, None
        version.deprecated_at = None
        version.save()
        _record(version.line, actor, Action.RESTORE, version=version, note=note)
    return _label(version.line, version, actor, _version_properties(version))


def _apply_keep(line: Line) -> None:
    """Versions beyond the newest `keep` active ones are deprecated by the system, revoked
    after the line's `grace_days` (0: at the expiry job's next run)."""
    if line.keep is None:
        return
    active = list(line.versions.filter(state=VersionState.ACTIVE).order_by("-number"))
    if len(active) <= line.keep:
        return
    newest = active[0]
    revoke_on = timezone.localdate(timezone=line.team.zone) + timedelta(days=line.grace_days)
    for version in active[line.keep :]:
        note = f"Out of the newest {line.keep} version(s)."
        _deprecate(version, None, newest, revoke_on, note)


def lines_expire(
    *, team: Team, today: date | None = None, line: Line | None = None
) -> tuple[int, int]:
    """Revoke deprecated versions whose date has come from every subscriber, with the system
    as actor; a version is retired once none of its shares remains. Returns (revoked, failed);
    failed ones are tried again at the next run. `line`: only that line's versions."""
    today = today or timezone.localdate(timezone=team.zone)
    revoked = failed = 0
    due = LineVersion.objects.filter(
        line__team=team, state=VersionState.DEPRECATED, revoke_on__lte=today
    ).select_related("line")
    if line is not None:
        due = due.filter(line=line)
    for version in due:
        results = _version_revoke_all(version)
        failed += sum(1 for r in results if r.error is not None)
        revoked += sum(1 for r in results if r.error is None)
        if all(r.error is None for r in results) and not _open_attempts(version):
            version.state, version.retired_at = VersionState.RETIRED, timezone.now()
            version.save(update_fields=["state", "retired_at"])
    return revoked, failed


def _open_attempts(version: LineVersion) -> bool:
    """Whether a share of the version still waits for its outcome (the next sync settles it):
    until then the version is not retired, and the next run revokes what it finds."""
    return (
        LedgerEntry.objects.open()
        .filter(team=version.line.team, image_id=version.image_id)
        .exists()
    )


def _version_revoke_all(version: LineVersion) -> list[RevokeResult]:
    line = version.line
    tenants = set(line.subscribers.values_list("tenant", flat=True))
    shares = Share.objects.filter(
        team=line.team, region=line.region, image_id=version.image_id, revoked_at=None,
        tenant__in=tenants,
    )  # fmt: skip
    note = f"Version {version.number} of line {line.slug} was provided until {version.revoke_on}."
    return [_revoke_one(version, share.tenant, None, note, Action.EXPIRE) for share in shares]


def _revoke_one(
    version: LineVersion, tenant: str, actor: User | None, note: str, action: str
) -> RevokeResult:
    line = version.line
    try:
        with about_line(line, version.number):
            share_revoke(
                team=line.team, actor=actor, region=line.region, image_id=version.image_id,
                tenant=tenant, note=note, action=action,
            )  # fmt: skip
    except NotFound:
        pass  # not a member upstream any more: our record is closed
    except CloudError as error:
        return RevokeResult(tenant, version.number, error)
    return RevokeResult(tenant, version.number)


# Subscribers


def subscriber_add(
    *,
    line: Line,
    actor: User | None,
    tenant: str,
    until: datetime | None = None,
    note: str = "",
    access_request: AccessRequest | None = None,
) -> list[ShareOutcome]:
    """Subscribe a tenant and share the line's active versions with it."""
    if tenant == line.team.tenant_id:
        raise ApplicationError("The team's own account owns the line; it needs no subscription.")
    try:
        with transaction.atomic():
            LineSubscriber.objects.create(
                line=line, tenant=tenant, until=until, note=note, added_by=actor,
                access_request=access_request,
            )  # fmt: skip
            _record(line, actor, Action.SUBSCRIBE, tenant=tenant, note=note,
                    access_request=access_request)  # fmt: skip
    except IntegrityError:
        raise ApplicationError(f"{tenant} already subscribes to line {line.slug}.") from None
    return _share_active(line, actor, tenant, until, access_request)


def _share_active(
    line: Line,
    actor: User | None,
    tenant: str,
    until: datetime | None,
    access_request: AccessRequest | None,
) -> list[ShareOutcome]:
    outcomes: list[ShareOutcome] = []
    for version in line.versions.filter(state=VersionState.ACTIVE).order_by("number"):
        with about_line(line, version.number):
            target = share_target(
                team=line.team, region=line.region, image_id=version.image_id, make_shared=True
            )
            outcomes += share_to(
                team=line.team, actor=actor, region=line.region, target=target,
                tenants=[tenant], expires_at=until,
                note=f"Line {line.slug}, version {version.number}.",
                access_request=access_request,
            )  # fmt: skip
    return outcomes


def subscriber_remove(
    *, line: Line, actor: User | None, tenant: str, revoke: bool = False, note: str = ""
) -> list[RevokeResult]:
    """Stop future versions for a tenant; with `revoke`, also revoke the versions it has."""
    removed = LineSubscriber.objects.filter(line=line, tenant=tenant, removed_at=None).update(
        removed_at=timezone.now()
    )
    if not removed:
        raise ApplicationError(f"{tenant} does not subscribe to line {line.slug}.")
    _record(line, actor, Action.UNSUBSCRIBE, tenant=tenant, note=note)
    if not revoke:
        return []
    versions = line.versions.exclude(state=VersionState.RETIRED)
    shared = set(
        Share.objects.filter(
            team=line.team, region=line.region, tenant=tenant, revoked_at=None,
            image_id__in=versions.values("image_id"),
        ).values_list("image_id", flat=True)
    )  # fmt: skip
    why = note or f"No longer subscribes to line {line.slug}."
    return [
        _revoke_one(version, tenant, actor, why, Action.REVOKE)
        for version in versions
        if version.image_id in shared
    ]


# Discovery by the sync


def lines_discover(*, team: Team) -> int:
    """Publish, as the system, the team's images whose `image_line` property names one of its
    lines and that are not versions yet (a build pipeline sets it when it uploads), oldest
    first. Returns how many were published."""
    published = 0
    for line in team.lines.all():
        client = client_for(team, line.region)
        found = list(client.iter_images(owner=team.tenant_id, properties={P_LINE: line.slug}))
        known = set(line.versions.values_list("image_id", flat=True))
        fresh = sorted(
            (i for i in found if i.id not in known),
            key=lambda i: (i.created_at or timezone.now(), i.id),
        )
        for image in fresh:
            try:
                if line_publish(line=line, actor=None, image_id=image.id).created:
                    published += 1
            except (ApplicationError, CloudError):
                continue  # the next sync tries again; the ledger holds what was attempted
    return published


# Subscribing through an access request (the team's approval policy, as for a share)


def line_subscription_request(
    *,
    line: Line,
    tenant: str,
    justification: str,
    until: datetime | None = None,
    requested_by: User | None = None,
    requester_name: str = "",
    requester_email: str = "",
    via_link: bool = False,
) -> AccessRequest:
    """Ask for a tenant to subscribe to a line; decided in the same queue as shares."""
    if line.subscribers.filter(tenant=tenant, removed_at=None).exists():
        raise ApplicationError(f"{tenant} already subscribes to line {line.slug}.")
    access_request = AccessRequest(
        team=line.team, region=line.region, image_id="", image_name=line.name[:NAME_LENGTH],
        tenant=tenant, justification=justification, share_until=until, line=line,
        requested_by=requested_by, requester_name=requester_name or actor_name(requested_by),
        requester_email=requester_email, via_link=via_link,
        status_token=secrets.token_urlsafe(32),
    )  # fmt: skip
    try:
        with transaction.atomic():
            access_request.save()
            ledger_decision(access_request, requested_by, Action.REQUEST, justification)
    except IntegrityError:
        raise ApplicationError(
            f"An open request to subscribe {tenant} to line {line.slug} already exists."
        ) from None
    notifications.new_request(access_request)
    return access_request


def line_subscription_approve(
    *, access_request: AccessRequest, actor: User, note: str = ""
) -> AccessRequest:
    """Approve: subscribe the tenant and share the line's active versions with it. A request
    whose shares failed stays open as `failed`; approving it again shares what is missing."""
    line = access_request.line
    assert line is not None
    _claim(
        access_request, actor, RequestStatus.APPROVED, note,
        from_=[RequestStatus.PENDING, RequestStatus.FAILED],
    )  # fmt: skip
    ledger_decision(access_request, actor, Action.APPROVE, note)
    tenant, until = access_request.tenant, access_request.share_until
    why = f"Request #{access_request.pk}: {access_request.justification}"[:1000]
    try:
        if line.subscribers.filter(tenant=tenant, removed_at=None).exists():
            outcomes = _share_active(line, actor, tenant, until, access_request)
        else:
            outcomes = subscriber_add(
                line=line, actor=actor, tenant=tenant, until=until, note=why,
                access_request=access_request,
            )  # fmt: skip
        failed = [o.error for o in outcomes if o.error is not None]
        failure = error_text(failed[0]) if failed else ""
    except CloudError as error:
        failure = error_text(error)
    if failure:
        AccessRequest.objects.filter(pk=access_request.pk).update(
            status=RequestStatus.FAILED, failure=failure
        )
        access_request.refresh_from_db()
        notifications.share_failed(access_request)
    else:
        notifications.decision(access_request)
    return access_request
