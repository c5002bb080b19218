"""Business rules: sharing, revoking, answering incoming shares, and the ledger they write.

Every upstream mutation follows one pattern (DESIGN.md §7): an attempt is committed to the
ledger before the call, and completed with the outcome after it, whatever happens.
"""

import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from sharing import notifications
from sharing.cloud import CloudError
from sharing.cloud.errors import (
    BadRequest,
    Forbidden,
    MemberLimitReached,
    NoResponse,
    NotFound,
    RateLimited,
    Unauthorized,
    Unavailable,
    UnknownOutcome,
)
from sharing.cloud.images import Image, ImagesClient, MemberResult
from sharing.clouds import client_for
from sharing.models import (
    AccessRequest,
    Action,
    LedgerEntry,
    Outcome,
    RequestStatus,
    Share,
    ShareStatus,
    Team,
)

SYSTEM_ACTOR = "system"


class ApplicationError(Exception):
    """A rule stops the action; the message is for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ImageIsPrivate(ApplicationError):
    """The image must be switched to `shared` first (Images API v2.5+, images-api.md §2.10)."""

    def __init__(self, image: Image) -> None:
        super().__init__(
            f"Image '{image.name or image.id}' is private. Make it shared before adding members?"
        )
        self.image = image


@dataclass(frozen=True)
class ShareOutcome:
    tenant: str
    outcome: str
    created: bool = False
    status: str | None = None
    message: str = ""


_LEAD_INS: list[tuple[type[CloudError], str]] = [
    (MemberLimitReached, "The image has reached its member limit."),
    (RateLimited, "The cloud is limiting requests; try again in a minute."),
    (NoResponse, "The cloud did not answer."),
    (Unavailable, "The cloud is unavailable right now; try again later."),
    (Unauthorized, "The team's cloud credentials no longer work; ask a superuser to update them."),
    (Forbidden, "The cloud refused this."),
    (NotFound, "The cloud does not know this."),
    (BadRequest, "The cloud did not accept the request."),
]


def error_text(error: CloudError) -> str:
    """A cloud error in plain words, what it means first, with the upstream request id."""
    lead = next((text for kind, text in _LEAD_INS if isinstance(error, kind)), "")
    text = f"{lead} {error.message}" if lead and lead not in error.message else error.message
    return f"{text} (request {error.request_id})" if error.request_id else text


# The ledger


def _actor_name(actor: AbstractBaseUser | None) -> str:
    return actor.get_username() if actor is not None else SYSTEM_ACTOR


def ledger_attempt(
    *,
    team: Team,
    actor: AbstractBaseUser | None,
    action: str,
    region: str = "",
    image_id: str = "",
    image_name: str = "",
    tenant: str = "",
    note: str = "",
    access_request: AccessRequest | None = None,
) -> LedgerEntry:
    """Record an attempt, committed before the upstream call it describes."""
    return LedgerEntry.objects.create(
        access_request=access_request,
        team=team,
        actor=actor,
        actor_name=_actor_name(actor),
        action=action,
        region=region,
        image_id=image_id,
        image_name=(image_name or "")[:255],
        tenant=tenant,
        note=note,
    )


def ledger_fail(entry: LedgerEntry, error: CloudError) -> None:
    outcome = Outcome.UNKNOWN if isinstance(error, UnknownOutcome) else Outcome.FAILED
    entry.complete(
        outcome, http_status=error.status, request_id=error.request_id, message=error.message
    )


@contextmanager
def ledgered(entry: LedgerEntry) -> Iterator[LedgerEntry]:
    """Complete `entry` as failed (or unknown) if the block raises a CloudError.

    The block completes it itself on success; a bug (any other exception) leaves the attempt
    unresolved, visible in the history for the next sync to settle.
    """
    try:
        yield entry
    except CloudError as error:
        ledger_fail(entry, error)
        raise


# Sharing


def image_share(
    *,
    team: Team,
    actor: AbstractBaseUser,
    region: str,
    image_id: str,
    tenants: list[str],
    expires_at: datetime | None = None,
    note: str = "",
    make_shared: bool = False,
    access_request: AccessRequest | None = None,
) -> list[ShareOutcome]:
    """Share one image with several tenants, concurrently, each with its own ledger entries.

    Raises ImageIsPrivate when the image must become `shared` first and the user has not said
    so yet; CloudError when the image itself cannot be read.
    """
    target = _share_target(team=team, region=region, image_id=image_id, make_shared=make_shared)
    return _share(
        team=team, actor=actor, region=region, target=target, tenants=tenants,
        expires_at=expires_at, note=note, access_request=access_request,
    )  # fmt: skip


@dataclass(frozen=True)
class _ShareTarget:
    client: ImagesClient
    image: Image
    make_shared: bool  # switch it to `shared` before adding members


def _share_target(*, team: Team, region: str, image_id: str, make_shared: bool) -> _ShareTarget:
    """The image to share, read once; ImageIsPrivate if it is private and nobody agreed to
    make it shared. Before Images API v2.5 private images take members as they are."""
    client = client_for(team, region)
    image = client.get_image(image_id)
    private = image.visibility == "private" and client.versions().supports_shared_visibility
    if private and not make_shared:
        raise ImageIsPrivate(image)
    return _ShareTarget(client, image, private)


def _share(
    *,
    team: Team,
    actor: AbstractBaseUser,
    region: str,
    target: _ShareTarget,
    tenants: list[str],
    expires_at: datetime | None,
    note: str,
    access_request: AccessRequest | None,
) -> list[ShareOutcome]:
    client, image = target.client, target.image
    if target.make_shared:
        image = image_make_shared(team=team, actor=actor, region=region, image=image, client=client)

    attempts = _share_attempts(
        team=team, actor=actor, region=region, image=image, tenants=tenants, note=note,
        access_request=access_request,
    )  # fmt: skip
    # Only the HTTP calls run in the pool; the database is written from this thread, each
    # answer as it arrives while the other calls are still on the wire.
    workers = max(1, min(settings.CLOUD_SHARE_CONCURRENCY, len(tenants)))
    outcomes: dict[str, ShareOutcome] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        calls = {pool.submit(_create_member, client, image.id, t): t for t in tenants}
        for call in as_completed(calls):
            tenant = calls[call]
            outcomes[tenant] = _record_share(image, attempts[tenant], call.result(), expires_at)
    return [outcomes[tenant] for tenant in tenants]


def _share_attempts(
    *,
    team: Team,
    actor: AbstractBaseUser,
    region: str,
    image: Image,
    tenants: list[str],
    note: str,
    access_request: AccessRequest | None,
) -> dict[str, LedgerEntry]:
    """One attempt per tenant, committed together before any member is created."""
    entries = [
        LedgerEntry(
            team=team,
            actor=actor,
            actor_name=_actor_name(actor),
            action=Action.SHARE,
            region=region,
            image_id=image.id,
            image_name=(image.name or "")[:255],
            tenant=tenant,
            note=note,
            access_request=access_request,
        )
        for tenant in tenants
    ]
    with transaction.atomic():
        created = LedgerEntry.objects.bulk_create(entries)
    return {entry.tenant: entry for entry in created}


def _create_member(client: ImagesClient, image_id: str, tenant: str) -> MemberResult | CloudError:
    try:
        return client.create_member(image_id, tenant)
    except CloudError as error:
        return error


def _record_share(
    image: Image,
    entry: LedgerEntry,
    result: MemberResult | CloudError,
    expires_at: datetime | None,
) -> ShareOutcome:
    if isinstance(result, CloudError):
        ledger_fail(entry, result)
        return ShareOutcome(entry.tenant, entry.outcome, message=error_text(result))
    status = result.member.status or ShareStatus.PENDING
    message = "" if result.created else f"Already shared ({status})."
    with transaction.atomic():
        entry.complete(
            Outcome.SUCCEEDED,
            http_status=result.http_status,
            request_id=result.request_id,
            message=message,
        )
        _share_record_update(entry=entry, image=image, status=status, expires_at=expires_at)
    return ShareOutcome(entry.tenant, Outcome.SUCCEEDED, result.created, status, message)


def _share_record_update(
    *, entry: LedgerEntry, image: Image, status: str, expires_at: datetime | None
) -> Share:
    """Our record of the member, from the ledger entry of the share that the cloud confirmed."""
    share = (
        Share.objects.select_for_update()
        .filter(
            team=entry.team,
            region=entry.region,
            image_id=image.id,
            tenant=entry.tenant,
            revoked_at=None,
        )
        .first()
    )
    if share is None:
        share = Share(
            team=entry.team,
            region=entry.region,
            image_id=image.id,
            tenant=entry.tenant,
            shared_by=entry.actor,
            shared_at=timezone.now(),
        )
    share.image_name = (image.name or "")[:255]
    share.status = status
    if expires_at is not None:
        share.expires_at = expires_at
        share.reminded_at = None
    if entry.note:
        share.note = entry.note
    if entry.access_request_id:
        share.access_request_id = entry.access_request_id
    # The database enforces the foreign keys and the one-active-share constraint; checking
    # them here too would cost three queries per tenant of a bulk share.
    share.full_clean(exclude=["team", "shared_by", "access_request"], validate_constraints=False)
    share.save()
    return share


def image_make_shared(
    *,
    team: Team,
    actor: AbstractBaseUser,
    region: str,
    image: Image,
    client: ImagesClient,
) -> Image:
    entry = ledger_attempt(
        team=team,
        actor=actor,
        action=Action.MAKE_SHARED,
        region=region,
        image_id=image.id,
        image_name=image.name or "",
        note="Visibility private → shared, to add members.",
    )
    with ledgered(entry):
        result = client.make_image_shared(image.id)
    entry.complete(Outcome.SUCCEEDED, http_status=result.http_status, request_id=result.request_id)
    return result.image


def share_revoke(
    *,
    team: Team,
    actor: AbstractBaseUser | None,
    region: str,
    image_id: str,
    tenant: str,
    note: str = "",
    action: str = Action.REVOKE,
) -> None:
    """Remove a member. A member already gone upstream counts as revoked (DELETE is retried)."""
    share = Share.objects.filter(
        team=team, region=region, image_id=image_id, tenant=tenant, revoked_at=None
    ).first()
    entry = ledger_attempt(
        team=team,
        actor=actor,
        action=action,
        region=region,
        image_id=image_id,
        image_name=share.image_name if share else "",
        tenant=tenant,
        note=note,
        access_request=share.access_request if share else None,
    )
    client = client_for(team, region)
    try:
        with ledgered(entry):
            receipt = client.delete_member(image_id, tenant)
    except NotFound:
        # Not a member upstream (removed outside the dashboard, or a retried DELETE whose first
        # answer was lost): the entry keeps the 404, and our record follows the cloud.
        _share_close(share)
        raise
    entry.complete(
        Outcome.SUCCEEDED, http_status=receipt.http_status, request_id=receipt.request_id
    )
    _share_close(share)


def _share_close(share: Share | None) -> None:
    if share is not None:
        Share.objects.filter(pk=share.pk).update(revoked_at=timezone.now())


# Incoming shares


def incoming_set_status(
    *, team: Team, actor: AbstractBaseUser, region: str, image_id: str, status: str
) -> tuple[Image, MemberResult]:
    """Accept, reject or reset to pending our membership of another account's image."""
    action = {"accepted": Action.ACCEPT, "rejected": Action.REJECT, "pending": Action.PENDING}
    client = client_for(team, region)
    entry = ledger_attempt(
        team=team,
        actor=actor,
        action=action[status],
        region=region,
        image_id=image_id,
        tenant=client.tenant_id,
    )
    with ledgered(entry):
        # A member may read the image in any status: its name makes the ledger readable.
        image = client.get_image(image_id)
        entry.image_name = (image.name or "")[:255]
        entry.save(update_fields=["image_name"])
        result = client.update_member_status(image_id, client.tenant_id, status)
    entry.complete(Outcome.SUCCEEDED, http_status=result.http_status, request_id=result.request_id)
    return image, result


# Access requests


def access_request_create(
    *,
    team: Team,
    region: str,
    image_id: str,
    tenant: str,
    justification: str,
    share_until: datetime | None = None,
    requested_by: AbstractBaseUser | None = None,
    requester_name: str = "",
    requester_email: str = "",
    via_link: bool = False,
) -> AccessRequest:
    """Ask for an image to be shared with a tenant; the team's admins are told.

    The image must be the team's own (one read of it upstream); a tenant that already has the
    share, or an open request for the same image and tenant, is refused with a clear message.
    """
    return _access_request_new(
        team=team, region=region, image=_own_image(team=team, region=region, image_id=image_id),
        tenant=tenant, justification=justification, share_until=share_until,
        requested_by=requested_by, requester_name=requester_name,
        requester_email=requester_email, via_link=via_link,
    )  # fmt: skip


def _own_image(*, team: Team, region: str, image_id: str) -> Image:
    image = client_for(team, region).get_image(image_id)
    if image.owner is not None and image.owner != team.tenant_id:
        raise ApplicationError(f"Image {image_id} belongs to another account, not to this team.")
    return image


def _access_request_new(
    *,
    team: Team,
    region: str,
    image: Image,
    tenant: str,
    justification: str,
    share_until: datetime | None,
    requested_by: AbstractBaseUser | None,
    requester_name: str = "",
    requester_email: str = "",
    via_link: bool = False,
) -> AccessRequest:
    if Share.objects.filter(
        team=team, region=region, image_id=image.id, tenant=tenant, revoked_at=None
    ).exists():
        raise ApplicationError(f"This image is already shared with {tenant}.")
    access_request = AccessRequest(
        team=team,
        region=region,
        image_id=image.id,
        image_name=(image.name or "")[:255],
        tenant=tenant,
        justification=justification,
        share_until=share_until,
        requested_by=requested_by,
        requester_name=requester_name or _actor_name(requested_by),
        requester_email=requester_email,
        via_link=via_link,
        status_token=secrets.token_urlsafe(32),
    )
    try:
        with transaction.atomic():
            access_request.save()
            _ledger_decision(access_request, requested_by, Action.REQUEST, justification)
    except IntegrityError:
        raise ApplicationError(
            f"An open request to share this image with {tenant} already exists."
        ) from None
    notifications.new_request(access_request)
    return access_request


def _ledger_decision(
    access_request: AccessRequest, actor: AbstractBaseUser | None, action: str, note: str
) -> LedgerEntry:
    """Decisions happen in the dashboard, not upstream: recorded with their outcome at once."""
    entry = ledger_attempt(
        team=access_request.team,
        actor=actor,
        action=action,
        region=access_request.region,
        image_id=access_request.image_id,
        image_name=access_request.image_name,
        tenant=access_request.tenant,
        note=note,
        access_request=access_request,
    )
    if actor is None and access_request.via_link and action == Action.REQUEST:
        entry.actor_name = f"{access_request.requester_name} <{access_request.requester_email}>"
    entry.complete(Outcome.SUCCEEDED)
    return entry


def image_share_requests(
    *,
    team: Team,
    actor: AbstractBaseUser,
    region: str,
    image_id: str,
    tenants: list[str],
    share_until: datetime | None,
    note: str,
) -> list[tuple[str, AccessRequest | ApplicationError | CloudError]]:
    """An admin's share under the four-eyes policy: one request per tenant, for another admin.

    Returns each tenant with its new request, or the reason none was made.
    """
    justification = note or "Shared by an admin under the team's four-eyes policy."
    try:
        image = _own_image(team=team, region=region, image_id=image_id)  # read once for all
    except (ApplicationError, CloudError) as error:
        return [(tenant, error) for tenant in tenants]
    results: list[tuple[str, AccessRequest | ApplicationError | CloudError]] = []
    for tenant in tenants:
        try:
            created = _access_request_new(
                team=team,
                region=region,
                image=image,
                tenant=tenant,
                justification=justification,
                share_until=share_until,
                requested_by=actor,
            )
        except ApplicationError as error:
            results.append((tenant, error))
        else:
            results.append((tenant, created))
    return results


def _already_decided(access_request: AccessRequest) -> ApplicationError:
    status = access_request.get_status_display().lower()
    return ApplicationError(f"Request #{access_request.pk} is already {status}; nothing changed.")


def _refuse_own(access_request: AccessRequest, actor: AbstractBaseUser) -> None:
    if access_request.requested_by_id == actor.pk:
        raise ApplicationError("Nobody decides their own request: another admin must.")


def _claim(
    access_request: AccessRequest, actor: AbstractBaseUser, status: str, note: str, *, from_: list
) -> AccessRequest:
    """Move the request to `status` if it still is in one of `from_`: exactly one caller wins.

    A conditional UPDATE is atomic on every database, so two admins approving at the same
    moment (or one double-clicking) cannot both proceed.
    """
    _refuse_own(access_request, actor)
    claimed = AccessRequest.objects.filter(pk=access_request.pk, status__in=from_).update(
        status=status, decided_by=actor, decided_at=timezone.now(), decision_note=note
    )
    access_request.refresh_from_db()
    if not claimed:
        raise _already_decided(access_request)
    return access_request


def access_request_approve(
    *,
    access_request: AccessRequest,
    actor: AbstractBaseUser,
    note: str = "",
    make_shared: bool = False,
) -> AccessRequest:
    """Approve and share, through the same service as a direct share.

    A request whose share failed stays open as `failed` and can be approved again (a retry).
    """
    team, region = access_request.team, access_request.region
    _refuse_own(access_request, actor)
    # Read (and check) the image before claiming, so a private image changes nothing yet.
    target = _share_target(
        team=team, region=region, image_id=access_request.image_id, make_shared=make_shared
    )
    _claim(
        access_request,
        actor,
        RequestStatus.APPROVED,
        note,
        from_=[RequestStatus.PENDING, RequestStatus.FAILED],
    )
    _ledger_decision(access_request, actor, Action.APPROVE, note)
    try:
        [outcome] = _share(
            team=team,
            actor=actor,
            region=region,
            target=target,
            tenants=[access_request.tenant],
            expires_at=access_request.share_until,
            note=f"Request #{access_request.pk}: {access_request.justification}"[:1000],
            access_request=access_request,
        )
        failure = "" if outcome.outcome == Outcome.SUCCEEDED else outcome.message
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


def access_request_reject(
    *, access_request: AccessRequest, actor: AbstractBaseUser, note: str
) -> AccessRequest:
    _claim(access_request, actor, RequestStatus.REJECTED, note, from_=[RequestStatus.PENDING])
    _ledger_decision(access_request, actor, Action.REJECT_REQUEST, note)
    notifications.decision(access_request)
    return access_request


def access_request_cancel(*, access_request: AccessRequest, actor: AbstractBaseUser) -> None:
    if access_request.requested_by_id != actor.pk:
        raise ApplicationError("Only the person who asked can cancel a request.")
    cancelled = AccessRequest.objects.filter(
        pk=access_request.pk, status=RequestStatus.PENDING
    ).update(status=RequestStatus.CANCELLED, decided_at=timezone.now())
    access_request.refresh_from_db()
    if not cancelled:
        raise _already_decided(access_request)
    _ledger_decision(access_request, actor, Action.CANCEL, "")


def request_link_rotate(*, team: Team) -> str:
    """Turn the public request link on with a new token; any earlier link stops working."""
    team.request_link_token = secrets.token_urlsafe(24)
    team.save(update_fields=["request_link_token"])
    return team.request_link_token


def request_link_revoke(*, team: Team) -> None:
    team.request_link_token = ""
    team.save(update_fields=["request_link_token"])


# Time limits


def access_requests_expire(*, team: Team, now: datetime | None = None) -> int:
    """Pending requests older than the team's limit expire; returns how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=team.request_expiry_days)
    expired = 0
    for access_request in AccessRequest.objects.filter(
        team=team, status=RequestStatus.PENDING, created_at__lt=cutoff
    ):
        if AccessRequest.objects.filter(pk=access_request.pk, status=RequestStatus.PENDING).update(
            status=RequestStatus.EXPIRED, decided_at=now
        ):
            access_request.refresh_from_db()
            note = f"No decision within {team.request_expiry_days} days."
            _ledger_decision(access_request, None, Action.EXPIRE, note)
            notifications.decision(access_request)
            expired += 1
    return expired


def shares_expire(*, team: Team, now: datetime | None = None) -> tuple[int, int]:
    """Revoke every share past its end date, with the system as actor.

    Returns (revoked, failed); a failed one stays active and is tried again next run.
    """
    now = now or timezone.now()
    revoked = failed = 0
    for share in Share.objects.filter(team=team, revoked_at=None, expires_at__lte=now):
        try:
            share_revoke(
                team=team,
                actor=None,
                region=share.region,
                image_id=share.image_id,
                tenant=share.tenant,
                note=f"The share ended on {timezone.localtime(share.expires_at):%Y-%m-%d}.",
                action=Action.EXPIRE,
            )
        except NotFound:
            revoked += 1  # already gone upstream; our record is closed
        except CloudError:
            failed += 1
        else:
            revoked += 1
    return revoked, failed


def shares_remind(*, team: Team, now: datetime | None = None) -> int:
    """Tell the admins, once, about shares that end within the team's reminder window."""
    now = now or timezone.now()
    soon = Share.objects.filter(
        team=team,
        revoked_at=None,
        reminded_at=None,
        expires_at__gt=now,
        expires_at__lte=now + timedelta(days=team.reminder_days),
    ).order_by("expires_at")
    shares = list(soon)
    if shares:
        notifications.expiry_reminder(team, shares)
        Share.objects.filter(pk__in=[s.pk for s in shares]).update(reminded_at=now)
    return len(shares)


def team_time_limits(*, team: Team, now: datetime | None = None) -> str:
    """Everything time-limited for one team, in one pass; a line for the operator."""
    now = now or timezone.now()
    revoked, failed = shares_expire(team=team, now=now)
    expired = access_requests_expire(team=team, now=now)
    reminded = shares_remind(team=team, now=now)
    line = f"{revoked} share(s) revoked, {expired} request(s) expired, {reminded} reminder(s)"
    return line + (f"; {failed} revoke(s) failed, retried next run" if failed else "")


# Settling what a crash left open


SETTLE_AFTER = timedelta(minutes=5)
_EXPECTED_STATUS = {Action.ACCEPT: "accepted", Action.REJECT: "rejected", Action.PENDING: "pending"}


def attempts_settle(*, team: Team, older_than: timedelta = SETTLE_AFTER) -> int:
    """Give unresolved attempts the outcome the cloud shows now; returns how many were settled.

    An attempt without an outcome means the process stopped between the upstream call and
    recording its answer. Reading the member tells whether the change happened.
    """
    cutoff = timezone.now() - older_than
    open_attempts = LedgerEntry.objects.filter(
        team=team, outcome__isnull=True, created_at__lt=cutoff
    ).exclude(image_id="")
    clients: dict[str, ImagesClient] = {}
    settled = 0
    for entry in open_attempts.order_by("id"):
        client = clients.get(entry.region) or clients.setdefault(
            entry.region, client_for(team, entry.region)
        )
        try:
            happened = _attempt_happened(client, entry)
        except CloudError:
            continue  # The cloud cannot tell now; the next run tries again.
        if happened is None:
            continue
        entry.complete(
            Outcome.SUCCEEDED if happened else Outcome.FAILED,
            message="Settled by a later check of the cloud: the change "
            + ("is there." if happened else "is not there."),
        )
        settled += 1
    return settled


def _attempt_happened(client: ImagesClient, entry: LedgerEntry) -> bool | None:
    if entry.action == Action.MAKE_SHARED:
        return client.get_image(entry.image_id).visibility == "shared"
    member_id = entry.tenant or client.tenant_id
    try:
        member = client.get_member(entry.image_id, member_id)
    except NotFound:
        member = None
    if entry.action == Action.SHARE:
        return member is not None
    if entry.action in (Action.REVOKE, Action.EXPIRE):
        return member is None
    if entry.action in _EXPECTED_STATUS:
        return member is not None and member.status == _EXPECTED_STATUS[entry.action]
    return None


# Reconciling with the cloud


def shares_sync(*, team: Team) -> int:
    """Bring our share records in line with the cloud; returns how many drifts were recorded.

    For every image with active shares: a consumer's status change is copied, a member removed
    outside the dashboard closes our record, a member added outside it gets one. Each is a
    `drift` entry in the ledger, by the system.
    """
    drifts = 0
    active = Share.objects.filter(team=team, revoked_at=None)
    images = active.values_list("region", "image_id").distinct().order_by()
    clients: dict[str, ImagesClient] = {}
    for region, image_id in images:
        client = clients.get(region) or clients.setdefault(region, client_for(team, region))
        try:
            upstream = {m.member_id: m for m in client.list_members(image_id)}
        except NotFound:
            upstream = {}  # the image is gone: so are its members
        except CloudError:
            continue  # unreachable now; the next run tries again
        ours = {share.tenant: share for share in active.filter(region=region, image_id=image_id)}
        for tenant, share in ours.items():
            member = upstream.get(tenant)
            if member is None:
                _share_close(share)
                _ledger_drift(share, "No longer a member upstream: removed outside the dashboard.")
            elif member.status and member.status != share.status:
                Share.objects.filter(pk=share.pk).update(status=member.status)
                _ledger_drift(share, f"The tenant set its status to {member.status}.")
            else:
                continue
            drifts += 1
        for tenant in upstream.keys() - ours.keys():
            found = Share.objects.create(
                team=team,
                region=region,
                image_id=image_id,
                image_name=next(iter(ours.values())).image_name,
                tenant=tenant,
                status=upstream[tenant].status or ShareStatus.PENDING,
                shared_at=upstream[tenant].created_at or timezone.now(),
                note="Found by a sync: shared outside the dashboard.",
            )
            _ledger_drift(found, "A member added outside the dashboard.")
            drifts += 1
    return drifts


def _ledger_drift(share: Share, message: str) -> None:
    entry = ledger_attempt(
        team=share.team,
        actor=None,
        action=Action.DRIFT,
        region=share.region,
        image_id=share.image_id,
        image_name=share.image_name,
        tenant=share.tenant,
    )
    entry.complete(Outcome.SUCCEEDED, message=message)
