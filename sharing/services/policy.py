"""The team's approval policy: whether a *Share* shares at once or files access requests.

The one place that decides it, for the image page and the API alike (docs/design.md, "Share
or request"): admins share directly under the `members` policy; a member's share becomes
access requests for an admin, with the note as the justification; under `everyone` (four-eyes)
an admin's share becomes access requests for another admin. Who may share at all (a member or
above) is the access helpers' check.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sharing.cloud import CloudError
from sharing.models import AccessRequest, ApprovalPolicy, Membership, Role

from .access_requests import image_share_requests
from .errors import ApplicationError, JustificationNeeded
from .shares import ShareOutcome, image_share


class ShareRoute(StrEnum):
    DIRECT = "direct"  # an admin under the `members` policy: shared at once
    REQUEST = "request"  # a member: access requests, an admin decides
    FOUR_EYES = "four_eyes"  # an admin under `everyone`: access requests, another admin decides


@dataclass(frozen=True)
class SharedDirectly:
    outcomes: list[ShareOutcome]  # one per tenant


@dataclass(frozen=True)
class RequestsFiled:
    route: ShareRoute
    # Each tenant with its new request, or why none was made.
    made: list[tuple[str, AccessRequest | ApplicationError | CloudError]]


def share_route(membership: Membership) -> ShareRoute:
    """Where this member's *Share* goes under the team's current policy."""
    if not membership.has_role(Role.ADMIN):
        return ShareRoute.REQUEST
    if membership.team.approval_policy == ApprovalPolicy.EVERYONE:
        return ShareRoute.FOUR_EYES
    return ShareRoute.DIRECT


def share_route_check(*, membership: Membership, note: str) -> ShareRoute:
    """The route, or JustificationNeeded: a member's requests need the note as their
    justification, as any access request does. An admin's four-eyes share may go without
    one (the note of a share is optional); the request then names the policy as its reason."""
    route = share_route(membership)
    if route is ShareRoute.REQUEST and not note.strip():
        raise JustificationNeeded
    return route


def share_or_request(
    *,
    membership: Membership,
    region: str,
    image_id: str,
    tenants: list[str],
    expires_at: datetime | None = None,
    note: str = "",
    make_shared: bool = False,
) -> SharedDirectly | RequestsFiled:
    """Share the image with the tenants, or file access requests for them, as the team's
    policy says for this member.

    Raises JustificationNeeded before anything is done when requests would go without a why;
    when sharing directly, what `image_share` raises (ImageIsPrivate, CloudError).
    """
    route = share_route_check(membership=membership, note=note)
    team, actor = membership.team, membership.user
    if route is ShareRoute.DIRECT:
        outcomes = image_share(
            team=team, actor=actor, region=region, image_id=image_id, tenants=tenants,
            expires_at=expires_at, note=note, make_shared=make_shared,
        )  # fmt: skip
        return SharedDirectly(outcomes)
    made = image_share_requests(
        team=team, actor=actor, region=region, image_id=image_id, tenants=tenants,
        share_until=expires_at, note=note,
    )  # fmt: skip
    return RequestsFiled(route, made)
