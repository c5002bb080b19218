from typing import Any

from allauth.account.auth_backends import AuthenticationBackend
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest


class PasswordBackend(AuthenticationBackend):
    """Local passwords (allauth's backend); with `PASSWORD_LOGIN=0`, superusers' only.

    Only `authenticate` refuses: a session that single sign-on opened stays valid."""

    def authenticate(
        self, request: HttpRequest | None, **credentials: Any
    ) -> AbstractBaseUser | None:
        user = super().authenticate(request, **credentials)
        if user is not None and not (settings.PASSWORD_LOGIN or user.is_superuser):
            return None
        return user
