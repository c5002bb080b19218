from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SigninConfig(AppConfig):
    """An app of its own so that django-allauth finds the single sign-on provider
    (`provider.py`) and its URLs (`urls.py`)."""

    name = "sharing.signin"
    label = "signin"

    def ready(self) -> None:
        """With single sign-on configured, the provider must answer before we serve: a typo in
        OIDC_ISSUER stops start-up with its name, not every sign-in with an error page."""
        if settings.OIDC_ISSUER and settings.OIDC_CHECK_AT_START:
            from .discovery import DiscoveryError, discover

            try:
                discover(settings.OIDC_ISSUER)
            except DiscoveryError as error:
                raise ImproperlyConfigured(str(error)) from None
