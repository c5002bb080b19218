"""Sharing an image with tenants and revoking shares, each call recorded in the ledger."""

from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from sharing.cloud import CloudError, Image, ImagesClient, MemberResult, NotFound
from sharing.clouds import client_for
from sharing.models import (
    AccessRequest,
    Action,
    Basis,
    LedgerEntry,
    Outcome,
    Share,
    ShareStatus,
    Team,
)

from .errors import ImageIsPrivate
from .ledger import (
    NAME_LENGTH,
    ledger_attempt,
    ledger_attempts,
    ledger_complete,
    ledger_fail,
    ledgered,
)


@dataclass(frozen=True)
class ShareOutcome:
    """One tenant's result. `error` is set unless it succeeded; `unknown` means the cloud has
    not confirmed it either way, and the next check settles it."""

    tenant: str
    outcome: str
    created: bool = False
    status: str | None = None
    error: CloudError | None = None
    http_status: int | None = None
    request_id: str | None = None


@dataclass(frozen=True)
class ShareTarget:
    client: ImagesClient
    image: Image
    make_shared: bool  # switch it to `shared` before adding members


def share_target(*, team: Team, region: str, image_id: str, make_shared: bool) -> ShareTarget:
    """The image to share, read once; ImageIsPrivate if it is private and nobody agreed to
    make it shared. Before Images API v2.5 private images take members as they are."""
    client = client_for(team, region)
    image = client.get_image(image_id)
    private = image.visibility == "private" and client.versions().supports_shared_visibility
    if private and not make_shared:
        raise ImageIsPrivate(image)
    return ShareTarget(client, image, private)


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
    target = share_target(team=team, region=region, image_id=image_id, make_shared=make_shared)
    return share_to(
        team=team, actor=actor, region=region, target=target, tenants=tenants,
        expires_at=expires_at, note=note, access_request=access_request,
    )  # fmt: skip


def share_to(
    *,
    team: Team,
    actor: AbstractBaseUser | None,
    region: str,
    target: ShareTarget,
    tenants: list[str],
    expires_at: datetime | None,
    note: str,
    access_request: AccessRequest | None,
    attempts: dict[str, LedgerEntry] | None = None,
) -> list[ShareOutcome]:
    """Share `target` with `tenants`. `attempts`: their entries, when the caller recorded them
    already (an approval records its share's with the decision)."""
    client, image = target.client, target.image
    if target.make_shared:
        image = image_make_shared(
            team=team, actor=actor, region=region, image=image, client=client,
            access_request=access_request,
        )  # fmt: skip
    if attempts is None:
        attempts = ledger_attempts(
            tenants=tenants, team=team, actor=actor, action=Action.SHARE, region=region,
            image_id=image.id, image_name=image.name, note=note, access_request=access_request,
        )  # fmt: skip
    # Only the HTTP calls run in the pool, each on a session of its own (a requests Session is
    # not thread-safe); the database is written from this thread, each answer as it arrives.
    workers = max(1, min(settings.CLOUD_SHARE_CONCURRENCY, len(tenants)))
    outcomes: dict[str, ShareOutcome] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        calls = {pool.submit(_create_member, client, image.id, t): t for t in tenants}
        for call in as_completed(calls):
            tenant = calls[call]
            outcomes[tenant] = _record_share(image, attempts[tenant], call.result(), expires_at)
    return [outcomes[tenant] for tenant in tenants]


def _create_member(client: ImagesClient, image_id: str, tenant: str) -> MemberResult | CloudError:
    try:
        with client.fork() as own:
            return own.create_member(image_id, tenant)
    except CloudError as error:
        return error


def _record_share(
    image: Image,
    entry: LedgerEntry,
    result: MemberResult | CloudError,
    expires_at: datetime | None,
) -> ShareOutcome:
    if isinstance(result, CloudError):
        if not ledger_fail(entry, result):
            return _settled_first(image, entry, expires_at)
        return ShareOutcome(
            entry.tenant, entry.outcome or Outcome.FAILED, error=result,
            http_status=result.status, request_id=result.request_id,
        )  # fmt: skip
    status = result.member.status or ShareStatus.PENDING
    message = "" if result.created else f"Already shared ({status})."
    with transaction.atomic():
        completed = ledger_complete(
            entry,
            Outcome.SUCCEEDED,
            http_status=result.http_status,
            request_id=result.request_id,
            message=message,
            basis=Basis.INFERRED if result.inferred else "",
        )
        if completed:
            share_record(entry=entry, image_name=image.name, status=status, expires_at=expires_at)
    if not completed:
        return _settled_first(image, entry, expires_at, status)
    return ShareOutcome(
        entry.tenant, Outcome.SUCCEEDED, result.created, status,
        http_status=result.http_status, request_id=result.request_id,
    )  # fmt: skip


def _settled_first(
    image: Image,
    entry: LedgerEntry,
    expires_at: datetime | None,
    status: str | None = None,
) -> ShareOutcome:
    """The call's own answer came after a sync had settled its entry: the settled outcome is
    the ledger's, and what the caller is told (docs/design.md, "Settling outcomes")."""
    entry.refresh_from_db()
    if entry.outcome == Outcome.SUCCEEDED:
        share = _active_share(entry)
        if share is None:
            status = status or ShareStatus.PENDING
            share_record(entry=entry, image_name=image.name, status=status, expires_at=expires_at)
        return ShareOutcome(
            entry.tenant, Outcome.SUCCEEDED, status=share.status if share else status,
            http_status=entry.http_status, request_id=entry.request_id,
        )  # fmt: skip
    # Final either way: not "the next check will tell", which an UnknownOutcome would say.
    why = CloudError(
        f"A check settled this share before its answer came: {entry.settlement}",
        status=entry.http_status, request_id=entry.request_id,
    )  # fmt: skip
    return ShareOutcome(
        entry.tenant, entry.outcome or Outcome.UNKNOWN, error=why,
        http_status=entry.http_status, request_id=entry.request_id,
    )  # fmt: skip


def _active_share(entry: LedgerEntry) -> Share | None:
    return Share.objects.filter(
        team_id=entry.team_id, region=entry.region, image_id=entry.image_id,
        tenant=entry.tenant, revoked_at=None,
    ).first()  # fmt: skip


def share_record(
    *, entry: LedgerEntry, image_name: str | None, status: str, expires_at: datetime | None = None
) -> None:
    """Our record of the member, from the ledger entry of a share the cloud confirmed.

    Few statements (an UPDATE of the active record, else an INSERT in a savepoint): a bulk
    share records a hundred of these while its other calls are on the wire. The database
    enforces the one-active-share constraint and the foreign keys; when a concurrent share of
    the same tenant inserted first, its record is updated instead.
    """
    changes: dict = {"status": status, "image_name": (image_name or "")[:NAME_LENGTH]}
    if expires_at is not None:
        changes.update(expires_at=expires_at, reminded_at=None)
    if entry.note:
        changes["note"] = entry.note
    if entry.access_request_id:
        changes["access_request_id"] = entry.access_request_id
    active = Share.objects.filter(
        team_id=entry.team_id, region=entry.region, image_id=entry.image_id,
        tenant=entry.tenant, revoked_at=None,
    )  # fmt: skip
    if active.update(updated_at=timezone.now(), **changes):
        return
    try:
        with transaction.atomic():
            Share.objects.create(
                team_id=entry.team_id, region=entry.region, image_id=entry.image_id,
                tenant=entry.tenant, shared_by_id=entry.actor_id, shared_at=timezone.now(),
                **changes,
            )  # fmt: skip
    except IntegrityError:
        # Someone else shared the same tenant at the same moment and recorded it first.
        active.update(updated_at=timezone.now(), **changes)


def image_make_shared(
    *,
    team: Team,
    actor: AbstractBaseUser | None,
    region: str,
    image: Image,
    client: ImagesClient,
    access_request: AccessRequest | None = None,
) -> Image:
    entry = ledger_attempt(
        team=team,
        actor=actor,
        action=Action.MAKE_SHARED,
        region=region,
        image_id=image.id,
        image_name=image.name,
        note="Visibility private → shared, to add members.",
        access_request=access_request,
    )
    with ledgered(entry):
        result = client.make_image_shared(image.id)
    ledger_complete(
        entry, Outcome.SUCCEEDED, http_status=result.http_status, request_id=result.request_id
    )
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
    """Remove a member.

    Raises NotFound when the tenant was not a member (our record is closed: the cloud has
    nothing to remove), UnknownOutcome when the cloud did not confirm either way (our record
    stays until the next check settles it), another CloudError when it failed.
    """
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
    try:
        with ledgered(entry):
            receipt = client_for(team, region).delete_member(image_id, tenant)
    except NotFound:
        share_close(share)
        raise
    ledger_complete(
        entry, Outcome.SUCCEEDED, http_status=receipt.http_status, request_id=receipt.request_id,
        message=receipt.note, basis=Basis.INFERRED if receipt.inferred else "",
    )  # fmt: skip
    share_close(share)


def share_close(share: Share | None) -> None:
    if share is not None:
        Share.objects.filter(pk=share.pk, revoked_at=None).update(revoked_at=timezone.now())
