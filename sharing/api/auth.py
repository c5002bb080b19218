"""Who is calling: a bearer token, its user's membership of the URL's team, and the per-token
rate limit."""

from django.conf import settings
from django.http import Http404, HttpRequest
from django_ratelimit.core import get_usage
from ninja.errors import Throttled
from ninja.security import HttpBearer

from sharing.access import membership_of
from sharing.models import ApiToken, Membership, Role
from sharing.services import api_token_check


class TokenAuth(HttpBearer):
    """`Authorization: Bearer <token>`; 401 when it is missing, unknown, expired or revoked,
    429 when the token has sent more than API_RATE_PER_TOKEN."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        found = api_token_check(secret=token.strip())
        if found is not None:
            _throttle(request, found)
        return found


def _throttle(request: HttpRequest, token: ApiToken) -> None:
    usage = get_usage(
        request,
        group="api",
        key=lambda group, request: str(token.pk),
        rate=settings.API_RATE_PER_TOKEN,
        increment=True,
    )
    if usage is not None and usage["should_limit"]:
        raise Throttled(wait=usage["time_left"])


def membership_for(request: HttpRequest, team: str, role: str = Role.VIEWER) -> Membership:
    """The token user's membership of `team`, with the same role ladder as the browser.

    A token is for one team: any other team is 404, as for a person who is not a member.
    """
    token: ApiToken = request.auth  # type: ignore[attr-defined]
    if token.team.slug != team:
        raise Http404("No such team for this token.")
    return membership_of(token.user, team, role)
