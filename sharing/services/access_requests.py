"""Access requests: asking for a share, and the admins' decisions on it."""

import secrets
from collections import Counter
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from sharing import notifications
from sharing.cloud import CloudError, Image
from sharing.clouds import client_for
from sharing.models import (
    AccessRequest,
    Action,
    Basis,
    LedgerEntry,
    Outcome,
    RequestStatus,
    Share,
    Team,
)
from sharing.wording import error_text

from .errors import ApplicationError
from .ledger import NAME_LENGTH, actor_name, ledger_approval, ledger_complete, ledger_record
from .shares import ShareTarget, share_target, share_to


def access_request_create(
    *,
    team: Team,
    region: str,
    image_id: str,
    tenant: str,
    justification: str,
    share_until: datetime | None = None,
    requested_by: User | None = None,
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
    requested_by: User | None,
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
        image_name=(image.name or "")[:NAME_LENGTH],
        tenant=tenant,
        justification=justification,
        share_until=share_until,
        requested_by=requested_by,
        requester_name=requester_name or actor_name(requested_by),
        requester_email=requester_email,
        via_link=via_link,
        status_token=secrets.token_urlsafe(32),
    )
    try:
        with transaction.atomic():
            access_request.save()
            ledger_decision(access_request, requested_by, Action.REQUEST, justification)
    except IntegrityError:
        raise ApplicationError(
            f"An open request to share this image with {tenant} already exists."
        ) from None
    notifications.new_request(access_request)
    return access_request


def ledger_decision(
    access_request: AccessRequest, actor: User | None, action: str, note: str
) -> LedgerEntry:
    """Decisions happen in the dashboard, not upstream: recorded with their outcome at once."""
    outsider = actor is None and access_request.via_link and action == Action.REQUEST
    label = f"{access_request.requester_name} <{access_request.requester_email}>"
    return ledger_record(
        team=access_request.team,
        actor=actor,
        actor_label=label if outsider else "",
        action=action,
        region=access_request.region,
        image_id=access_request.image_id,
        image_name=access_request.image_name,
        tenant=access_request.tenant,
        note=note,
        access_request=access_request,
        line=access_request.line,
    )


def image_share_requests(
    *,
    team: Team,
    actor: User,
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


def access_request_can_decide(access_request: AccessRequest, actor: User) -> bool:
    """Whether `actor` may decide it, the role aside: nobody decides their own request."""
    return access_request.requested_by_id != actor.pk


def _refuse_own(access_request: AccessRequest, actor: User) -> None:
    if not access_request_can_decide(access_request, actor):
        raise ApplicationError("Nobody decides their own request: another admin must.")


def _claim(
    access_request: AccessRequest, actor: User, status: str, note: str, *, from_: list, **more
) -> AccessRequest:
    """Move the request to `status` if it still is in one of `from_`: exactly one caller wins.

    A conditional UPDATE is atomic on every database, so two admins approving at the same
    moment (or one double-clicking) cannot both proceed. `more`: other columns to set with it.
    """
    _refuse_own(access_request, actor)
    claimed = AccessRequest.objects.filter(pk=access_request.pk, status__in=from_).update(
        status=status, decided_by=actor, decided_at=timezone.now(), decision_note=note, **more
    )
    access_request.refresh_from_db()
    if not claimed:
        raise _already_decided(access_request)
    return access_request


def access_request_approve(
    *,
    access_request: AccessRequest,
    actor: User,
    note: str = "",
    make_shared: bool = False,
) -> AccessRequest:
    """Approve and share, through the same service as a direct share.

    A request whose share failed stays open as `failed` and can be approved again (a retry).
    Each step leaves a state the upkeep finishes should the process die there: the claim
    marks the request `sharing_since`; the decision and the share's attempt are recorded
    together before any upstream call; the mark is cleared once the status says the share's
    final outcome (`access_requests_settle`).
    """
    if access_request.line_id is not None:  # a request to subscribe to an image line
        from .lines import line_subscription_approve

        return line_subscription_approve(access_request=access_request, actor=actor, note=note)
    team, region = access_request.team, access_request.region
    _refuse_own(access_request, actor)
    # Read (and check) the image before claiming, so a private image changes nothing yet.
    target = share_target(
        team=team, region=region, image_id=access_request.image_id, make_shared=make_shared
    )
    since = timezone.now()
    _claim(
        access_request, actor, RequestStatus.APPROVED, note,
        from_=[RequestStatus.PENDING, RequestStatus.FAILED], sharing_since=since,
    )  # fmt: skip
    attempt = ledger_approval(
        access_request=access_request, actor=actor, note=note,
        share_note=_share_note(access_request), image_name=target.image.name or "",
    )  # fmt: skip
    failure = _approval_share(access_request, actor, target, attempt)
    _approval_end(access_request, attempt, since, failure)
    return access_request


def _share_note(access_request: AccessRequest) -> str:
    return f"Request #{access_request.pk}: {access_request.justification}"[:1000]


def _approval_share(
    access_request: AccessRequest, actor: User, target: ShareTarget, attempt: LedgerEntry
) -> str:
    """The approved share, completing `attempt`; why it did not succeed, in words ("" if it
    did). Its outcome is in the ledger afterwards."""
    try:
        [outcome] = share_to(
            team=access_request.team, actor=actor, region=access_request.region, target=target,
            tenants=[access_request.tenant], expires_at=access_request.share_until,
            note=attempt.note, access_request=access_request,
            attempts={access_request.tenant: attempt},
        )  # fmt: skip
    except CloudError as error:
        # The image could not be made shared: the create was never sent.
        ledger_complete(
            attempt, Outcome.FAILED, http_status=error.status, request_id=error.request_id,
            message=f"Not sent: the image could not be made shared. {error.message}",
        )  # fmt: skip
        return error_text(error)
    return "" if outcome.error is None else error_text(outcome.error)


def _approval_end(
    access_request: AccessRequest, attempt: LedgerEntry, since: datetime, failure: str
) -> None:
    """The request's status follows its share. An outcome still unknown keeps the mark: the
    request is `failed` for now (it may be approved again) and follows the settled outcome."""
    attempt.refresh_from_db()
    if not attempt.open:
        shared = attempt.outcome == Outcome.SUCCEEDED
        status = RequestStatus.APPROVED if shared else RequestStatus.FAILED
        _follow_share(access_request, since, status, "" if shared else failure)
        return
    if AccessRequest.objects.filter(pk=access_request.pk, sharing_since=since).update(
        status=RequestStatus.FAILED, failure=failure
    ):
        access_request.refresh_from_db()
        notifications.share_failed(access_request)


def _follow_share(
    access_request: AccessRequest, since: datetime, status: str, failure: str
) -> bool:
    """Give the request the status its share's final outcome says and clear its mark, unless
    another approval or worker moved it on since `since`; then tell whom it concerns (the
    admins heard of a failure already when an unknown outcome made the request `failed`)."""
    told = access_request.status == RequestStatus.FAILED
    if not AccessRequest.objects.filter(pk=access_request.pk, sharing_since=since).update(
        status=status, failure=failure, sharing_since=None
    ):
        return False
    access_request.refresh_from_db()
    if status == RequestStatus.APPROVED:
        notifications.decision(access_request)
    elif not told:
        notifications.share_failed(access_request)
    return True


# Approvals that stopped half-way


def access_requests_settle(*, team: Team, older_than: timedelta) -> Counter[str]:
    """Every request still marked `sharing_since` longer than `older_than` ago gets the status
    its share's final outcome says: an approval whose process died (or whose share's outcome
    was unknown) ends shared or visibly failed. Run after `attempts_settle`, which gives the
    share's attempt its outcome; an attempt still open waits for it. Counts per new status."""
    cutoff = timezone.now() - older_than
    counts: Counter[str] = Counter()
    for access_request in AccessRequest.objects.filter(team=team, sharing_since__lt=cutoff):
        since = access_request.sharing_since
        if since is None:  # for the type checker: the filter says it is set
            continue
        attempt = _approval_attempt(access_request, since)
        if attempt is None:
            counts["request(s) failed"] += _never_sent(access_request, since)
        elif attempt.open:
            continue
        elif attempt.outcome == Outcome.SUCCEEDED:
            if _follow_share(access_request, since, RequestStatus.APPROVED, ""):
                counts["request(s) shared"] += 1
        elif _follow_share(access_request, since, RequestStatus.FAILED, _failure_settled(attempt)):
            counts["request(s) failed"] += 1
    return counts


def _approval_attempt(access_request: AccessRequest, since: datetime) -> LedgerEntry | None:
    """The share attempt of the approval that claimed the request at `since`."""
    return (
        access_request.entries.filter(action=Action.SHARE, created_at__gte=since)
        .order_by("-created_at", "-id")
        .first()
    )


# Words for people; what they mean is in the entries' outcomes.
NEVER_SENT = "Not sent: the approval stopped before the share was sent."


def _never_sent(access_request: AccessRequest, since: datetime) -> bool:
    """An approval that stopped between its claim and its attempt sent nothing, since an
    attempt is recorded before its call: the request fails, and the ledger says so with a
    share that failed, both at once (of two workers, one does it)."""
    failure = f"The share was not made; approve again to retry. {NEVER_SENT}"
    with transaction.atomic():
        if not AccessRequest.objects.filter(pk=access_request.pk, sharing_since=since).update(
            status=RequestStatus.FAILED, failure=failure, sharing_since=None
        ):
            return False
        ledger_record(
            team=access_request.team, actor=None, action=Action.SHARE,
            region=access_request.region, image_id=access_request.image_id,
            image_name=access_request.image_name, tenant=access_request.tenant,
            note=_share_note(access_request), access_request=access_request,
            outcome=Outcome.FAILED, message=NEVER_SENT, basis=Basis.INFERRED,
        )  # fmt: skip
    access_request.refresh_from_db()
    notifications.share_failed(access_request)
    return True


def _failure_settled(attempt: LedgerEntry) -> str:
    if attempt.outcome == Outcome.UNKNOWN:
        return (
            "Whether the image was shared could not be told; approve again to make sure. "
            f"{attempt.settlement}"
        )
    return (
        f"The share was not made; approve again to retry. {attempt.settlement or attempt.message}"
    )


def access_request_reject(
    *, access_request: AccessRequest, actor: User, note: str
) -> AccessRequest:
    _claim(access_request, actor, RequestStatus.REJECTED, note, from_=[RequestStatus.PENDING])
    ledger_decision(access_request, actor, Action.REJECT_REQUEST, note)
    notifications.decision(access_request)
    return access_request


def access_request_cancel(*, access_request: AccessRequest, actor: User) -> None:
    if access_request.requested_by_id != actor.pk:
        raise ApplicationError("Only the person who asked can cancel a request.")
    cancelled = AccessRequest.objects.filter(
        pk=access_request.pk, status=RequestStatus.PENDING
    ).update(status=RequestStatus.CANCELLED, decided_at=timezone.now())
    access_request.refresh_from_db()
    if not cancelled:
        raise _already_decided(access_request)
    ledger_decision(access_request, actor, Action.CANCEL, "")


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
            ledger_decision(access_request, None, Action.EXPIRE, note)
            notifications.decision(access_request)
            expired += 1
    return expired
