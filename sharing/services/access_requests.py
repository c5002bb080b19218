"""Access requests: asking for a share, and the admins' decisions on it."""

import secrets
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from sharing import notifications
from sharing.cloud import CloudError, Image
from sharing.clouds import client_for
from sharing.models import AccessRequest, Action, LedgerEntry, RequestStatus, Share, Team
from sharing.wording import error_text

from .errors import ApplicationError
from .ledger import NAME_LENGTH, actor_name, ledger_record
from .shares import share_target, share_to


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
    access_request: AccessRequest, actor: User, status: str, note: str, *, from_: list
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
    actor: User,
    note: str = "",
    make_shared: bool = False,
) -> AccessRequest:
    """Approve and share, through the same service as a direct share.

    A request whose share failed stays open as `failed` and can be approved again (a retry).
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
    _claim(
        access_request,
        actor,
        RequestStatus.APPROVED,
        note,
        from_=[RequestStatus.PENDING, RequestStatus.FAILED],
    )
    ledger_decision(access_request, actor, Action.APPROVE, note)
    try:
        [outcome] = share_to(
            team=team,
            actor=actor,
            region=region,
            target=target,
            tenants=[access_request.tenant],
            expires_at=access_request.share_until,
            note=f"Request #{access_request.pk}: {access_request.justification}"[:1000],
            access_request=access_request,
        )
        failure = "" if outcome.error is None else error_text(outcome.error)
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
