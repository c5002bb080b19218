"""Who may see and do what in a team. Every team view goes through `team_for`, every API
endpoint through `membership_of` with its token's user."""

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from sharing.models import Membership, Role


class AuthedRequest(HttpRequest):
    """A request that `@login_required` let through: its user is a `User`, never anonymous."""

    user: User


def login_username(request: HttpRequest, credentials: dict | None) -> str:
    """The user name django-axes records for a log-in attempt (AXES_USERNAME_CALLABLE).

    The log-in form does not bound what is typed, and axes stores it in a 255-character column:
    cut to a user name's length (150) and without NUL, so any input is recorded, not a 500.
    """
    raw = (credentials or {}).get("username") or request.POST.get("login", "")
    return str(raw).replace("\x00", "")[:150]


def team_for(request: HttpRequest, slug: str, role: str = Role.VIEWER) -> Membership:
    """The user's membership of the team, if it has at least `role`.

    Not a member: 404, so a team's existence does not leak. Role too low: 403.
    """
    return membership_of(request.user, slug, role)


def membership_of(user: User | AnonymousUser, slug: str, role: str = Role.VIEWER) -> Membership:
    if not isinstance(user, User) or not user.is_authenticated:
        raise Http404("No such team.")  # the views' @login_required sends people to log in
    membership = (
        Membership.objects.select_related("team").filter(user=user, team__slug=slug).first()
    )
    if membership is None:
        raise Http404("No such team.")
    if not membership.has_role(role):
        raise PermissionDenied(f"This needs the {Role(role).label.lower()} role in this team.")
    return membership
