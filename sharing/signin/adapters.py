"""django-allauth's hooks: who may sign up, and team roles re-read at every SSO sign-in."""

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialLogin
from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse

from sharing import services


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        """No one signs themselves up with a password: a superuser adds local users."""
        return False

    def post_login(self, request: HttpRequest, user: Any, **kwargs: Any) -> HttpResponse:
        sociallogin = (kwargs.get("signal_kwargs") or {}).get("sociallogin")
        if isinstance(sociallogin, SocialLogin) and isinstance(user, User):
            claims = claims_of(sociallogin.account.extra_data)
            services.sso_roles_apply(
                user=user, roles=settings.OIDC_TEAM_ROLE_MAP.roles(groups_of(claims))
            )
        return super().post_login(request, user, **kwargs)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        """Whoever the organisation's provider vouches for gets a user; roles decide the rest."""
        return True


def claims_of(extra_data: dict) -> dict:
    """The ID token's claims, with the user info endpoint's on top (it may carry more)."""
    return {**(extra_data.get("id_token") or {}), **(extra_data.get("userinfo") or {})}


def groups_of(claims: dict) -> list[str]:
    """The roles claim (`OIDC_ROLES_CLAIM`) as a list of strings: providers send a list, a
    single string, or a space-separated string."""
    value = claims.get(settings.OIDC_ROLES_CLAIM)
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []
