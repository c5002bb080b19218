from typing import Any

from allauth.account.auth_backends import AuthenticationBackend
from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest


class PasswordBackend(AuthenticationBackend):
    """Local passwords (allauth's backend), refused to:

    - everyone but superusers with `PASSWORD_LOGIN=0`;
    - people who came through single sign-on (a password set later, say by a reset, would keep
      roles the provider has since taken away: their roles are re-read only at an SSO sign-in).

    Only `authenticate` refuses: a session that single sign-on opened stays valid."""

    def authenticate(
        self, request: HttpRequest | None, **credentials: Any
    ) -> AbstractBaseUser | None:
        user = super().authenticate(request, **credentials)
        if user is None or user.is_superuser:
            return user
        if not settings.PASSWORD_LOGIN or SocialAccount.objects.filter(user=user).exists():
            return None
        return user
