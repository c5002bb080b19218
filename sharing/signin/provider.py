"""The single sign-on provider: allauth's OpenID Connect provider, made strict.

allauth's generic OpenID Connect provider sends no `nonce` and skips the ID token's signature
when it fetched the token itself (which OpenID Connect Core 3.1.3.7 allows over TLS). This one
sends a nonce and checks it, always checks the signature, and holds the issuer to
`OIDC_ISSUER` rather than to whatever the discovery document says. PKCE (S256) and the single
use `state` are allauth's.
"""

from typing import Any

from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider
from django.http import HttpRequest
from django.urls import reverse
from django.utils.crypto import get_random_string
from django.utils.http import urlencode

from .oauth import StrictOIDCAdapter


class SSOProvider(OpenIDConnectProvider):
    id = "sso"
    name = "Single sign-on"
    oauth2_adapter_class = StrictOIDCAdapter

    @property
    def server_url(self) -> str:
        """Discovery, as OpenID Connect Discovery 1.0 section 4 builds its URL."""
        return self.app.settings["server_url"].rstrip("/") + "/.well-known/openid-configuration"

    def get_login_url(self, request: HttpRequest, **kwargs: Any) -> str:
        url = reverse("sso_login")
        return f"{url}?{urlencode(kwargs)}" if kwargs else url

    def get_callback_url(self) -> str:
        return reverse("sso_callback")

    def get_oauth2_adapter(self, request: HttpRequest) -> StrictOIDCAdapter:
        return StrictOIDCAdapter(request)

    def redirect(self, request: HttpRequest, process: Any, next_url=None, data=None, **kwargs):
        """The authorization request, with a fresh nonce kept in the (server-side) state."""
        nonce = get_random_string(32)
        auth_params = kwargs.pop("auth_params", None) or self.get_auth_params()
        auth_params["nonce"] = nonce
        return super().redirect(
            request, process, next_url, data, auth_params=auth_params, nonce=nonce, **kwargs
        )


provider_classes = [SSOProvider]
