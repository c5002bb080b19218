"""The OpenID Connect client side of `provider.SSOProvider`: ID token checks and the views."""

from typing import Any

from allauth.socialaccount.internal import jwtkit
from allauth.socialaccount.models import SocialApp, SocialToken
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from allauth.utils import build_absolute_uri
from django.conf import settings
from django.http import HttpRequest
from django.shortcuts import render
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from requests import RequestException


class StrictOIDCAdapter(OpenIDConnectOAuth2Adapter):
    def __init__(self, request: HttpRequest) -> None:
        super().__init__(request, "sso")
        self.state: dict[str, Any] = {}

    def get_callback_url(self, request: HttpRequest, app: SocialApp) -> str:
        return build_absolute_uri(request, reverse("sso_callback"))

    def complete_login(self, request: HttpRequest, app: SocialApp, token: SocialToken, **kwargs):
        if not kwargs["response"].get("id_token"):
            raise OAuth2Error("The provider sent no ID token.")
        return super().complete_login(request, app, token, **kwargs)

    def _decode_id_token(self, app: SocialApp, id_token: str) -> dict:
        if self.openid_config.get("issuer") != settings.OIDC_ISSUER:
            raise OAuth2Error("The provider's discovery document names another issuer.")
        claims = jwtkit.verify_and_decode(
            credential=id_token,
            keys_url=self.openid_config["jwks_uri"],
            issuer=settings.OIDC_ISSUER,
            audience=app.client_id,
            lookup_kid=jwtkit.lookup_kid_jwk,
            verify_signature=True,
        )
        expected = self.state.get("nonce") or ""
        if not expected or not constant_time_compare(str(claims.get("nonce", "")), expected):
            raise OAuth2Error("The ID token's nonce is not the one this sign-in sent.")
        return claims


class StrictCallbackView(OAuth2CallbackView):
    adapter: StrictOIDCAdapter

    def _get_state(self, request: HttpRequest, provider: Any):
        state, response = super()._get_state(request, provider)
        self.adapter.state = state or {}
        return state, response


def login(request: HttpRequest):
    from .views import allow_provider_forms

    try:
        return allow_provider_forms(
            OAuth2LoginView.adapter_view(StrictOIDCAdapter(request))(request)
        )
    except (RequestException, ValueError, KeyError):  # discovery failed: down, not JSON, partial
        context = {"provider_name": settings.OIDC_NAME}
        return render(request, "signin/sso_unavailable.html", context, status=503)


def callback(request: HttpRequest):
    return StrictCallbackView.adapter_view(StrictOIDCAdapter(request))(request)
