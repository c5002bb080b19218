"""Who may see and do what in a team. Every team view goes through `team_for`."""

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from sharing.models import Membership, Role, Team


def team_for(request: HttpRequest, slug: str, role: str = Role.VIEWER) -> Team:
    """The team, if the user belongs to it with at least `role`.

    Not a member: 404, so a team's existence does not leak. Role too low: 403.
    The membership is kept on the request for templates (`request.membership`).
    """
    membership = (
        Membership.objects.select_related("team")
        .filter(user_id=request.user.pk, team__slug=slug)
        .first()
    )
    if membership is None:
        raise Http404("No such team.")
    if not membership.has_role(role):
        raise PermissionDenied(f"This needs the {Role(role).label.lower()} role in this team.")
    request.membership = membership
    return membership.team
