"""Business rules: sharing, revoking, answering incoming shares, and the ledger they write.

Every upstream mutation follows one pattern (DESIGN.md §7): an attempt is committed to the
ledger before the call, and completed with the outcome after it, whatever happens.
"""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from sharing.cloud import CloudError
from sharing.cloud.errors import NotFound, UnknownOutcome
from sharing.cloud.images import Image, ImagesClient, MemberResult
from sharing.clouds import client_for
from sharing.models import Action, LedgerEntry, Outcome, Share, ShareStatus, Team

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


def error_text(error: CloudError) -> str:
    """A cloud error in plain words, with the upstream request id to quote to support."""
    if error.request_id:
        return f"{error.message} (request {error.request_id})"
    return error.message


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
) -> LedgerEntry:
    """Record an attempt, committed before the upstream call it describes."""
    return LedgerEntry.objects.create(
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
) -> list[ShareOutcome]:
    """Share one image with several tenants, concurrently, each with its own ledger entries.

    Raises ImageIsPrivate when the image must become `shared` first and the user has not said
    so yet; CloudError when the image itself cannot be read.
    """
    client = client_for(team, region)
    image = client.get_image(image_id)
    # Before Images API v2.5 private images take members as they are.
    if image.visibility == "private" and client.versions().supports_shared_visibility:
        if not make_shared:
            raise ImageIsPrivate(image)
        image = image_make_shared(team=team, actor=actor, region=region, image=image, client=client)

    attempts = {
        tenant: ledger_attempt(
            team=team,
            actor=actor,
            action=Action.SHARE,
            region=region,
            image_id=image.id,
            image_name=image.name or "",
            tenant=tenant,
            note=note,
        )
        for tenant in tenants
    }
    # Only the HTTP calls run in the pool; the database is written from this thread.
    workers = max(1, min(settings.CLOUD_SHARE_CONCURRENCY, len(tenants)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = pool.map(lambda tenant: _create_member(client, image.id, tenant), tenants)
        return [
            _record_share(team, actor, region, image, attempts[tenant], result, expires_at, note)
            for tenant, result in zip(tenants, results, strict=True)
        ]


def _create_member(client: ImagesClient, image_id: str, tenant: str) -> MemberResult | CloudError:
    try:
        return client.create_member(image_id, tenant)
    except CloudError as error:
        return error


def _record_share(
    team: Team,
    actor: AbstractBaseUser,
    region: str,
    image: Image,
    entry: LedgerEntry,
    result: MemberResult | CloudError,
    expires_at: datetime | None,
    note: str,
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
        _share_record_update(
            team=team,
            region=region,
            image=image,
            tenant=entry.tenant,
            status=status,
            actor=actor,
            expires_at=expires_at,
            note=note,
        )
    return ShareOutcome(entry.tenant, Outcome.SUCCEEDED, result.created, status, message)


def _share_record_update(
    *,
    team: Team,
    region: str,
    image: Image,
    tenant: str,
    status: str,
    actor: AbstractBaseUser | None,
    expires_at: datetime | None = None,
    note: str = "",
) -> Share:
    share = (
        Share.objects.select_for_update()
        .filter(team=team, region=region, image_id=image.id, tenant=tenant, revoked_at=None)
        .first()
    )
    if share is None:
        share = Share(
            team=team,
            region=region,
            image_id=image.id,
            tenant=tenant,
            shared_by=actor,
            shared_at=timezone.now(),
        )
    share.image_name = (image.name or "")[:255]
    share.status = status
    if expires_at is not None:
        share.expires_at = expires_at
    if note:
        share.note = note
    share.full_clean()
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
) -> MemberResult:
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
        result = client.update_member_status(image_id, client.tenant_id, status)
    entry.complete(Outcome.SUCCEEDED, http_status=result.http_status, request_id=result.request_id)
    return result


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
