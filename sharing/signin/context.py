from django.conf import settings
from django.http import HttpRequest

from .middleware import signed_in_with_sso


def signin(request: HttpRequest) -> dict:
    """What the log-in page offers (single sign-on by its name; passwords for everyone or for
    superusers only), and for people who came through single sign-on, whom to ask for a team."""
    context = {
        "sso_name": settings.OIDC_NAME if settings.OIDC_ISSUER else "",
        "password_login": settings.PASSWORD_LOGIN,
    }
    if request.user.is_authenticated and signed_in_with_sso(request):
        context["via_sso"] = True
        context["sso_help_contact"] = settings.OIDC_HELP_CONTACT
        context["sso_group_example"] = settings.OIDC_TEAM_ROLE_MAP.example()
    return context
