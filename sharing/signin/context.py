from django.conf import settings
from django.http import HttpRequest


def signin(request: HttpRequest) -> dict:
    """What the log-in page offers: single sign-on (by its name) and whether passwords are for
    everyone or for superusers only."""
    return {
        "sso_name": settings.OIDC_NAME if settings.OIDC_ISSUER else "",
        "password_login": settings.PASSWORD_LOGIN,
    }
