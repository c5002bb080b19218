from typing import Any

from django.http import HttpRequest

from sharing import selectors
from sharing.models import AccessRequest, Membership, RequestStatus, Role


def navigation(request: HttpRequest) -> dict:
    """The team switcher and the current team, region and role for base.html."""
    if not request.user.is_authenticated:
        return {}
    memberships = list(
        Membership.objects.filter(user=request.user).select_related("team").order_by("team__name")
    )
    # The team of a team page is its URL's; the view has checked the membership already.
    match = getattr(request, "resolver_match", None)
    slug = match.kwargs.get("team_slug") if match else None
    current = next((m for m in memberships if m.team.slug == slug), None)
    context: dict[str, Any] = {"memberships": memberships, "current_membership": current}
    if current is not None:
        team = current.team
        context["team"] = team
        context["region"] = team.region_or_default(request.GET.get("region"))
        context["is_admin"] = current.has_role(Role.ADMIN)
        context["is_member"] = current.has_role(Role.MEMBER)
        context["is_viewer"] = current.has_role(Role.VIEWER)  # not an auditor
        if context["is_viewer"]:
            context["pending_incoming"] = selectors.incoming_pending(
                team=team, region=context["region"]
            )
        if context["is_admin"]:
            context["pending_requests"] = AccessRequest.objects.filter(
                team=team, status=RequestStatus.PENDING
            ).count()
    return context
