"""The provider's discovery document (OpenID Connect Discovery 1.0), checked at start-up."""

from urllib.parse import urlencode

import requests
from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

REQUIRED = ("authorization_endpoint", "token_endpoint", "jwks_uri")


class DiscoveryError(Exception):
    """The provider cannot be used as configured; the message names the variable."""


def discover(issuer: str, timeout: float = 5.0) -> dict:
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=timeout)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as error:
        raise DiscoveryError(
            f"OIDC_ISSUER: no usable discovery document at {url} ({error})."
        ) from None
    if not isinstance(document, dict) or document.get("issuer") != issuer:
        named = document.get("issuer") if isinstance(document, dict) else None
        raise DiscoveryError(
            f"OIDC_ISSUER is {issuer!r}, but the provider names itself {named!r}; "
            "set OIDC_ISSUER to exactly the provider's issuer."
        )
    missing = [key for key in REQUIRED if not document.get(key)]
    if missing:
        raise DiscoveryError(f"OIDC_ISSUER: the discovery document lacks {', '.join(missing)}.")
    methods = document.get("code_challenge_methods_supported")
    if methods is not None and "S256" not in methods:
        raise DiscoveryError(f"OIDC_ISSUER: {issuer} does not offer PKCE with S256.")
    return document


def logout_url(request: HttpRequest) -> str:
    """The provider's end-session address (RP-Initiated Logout 1.0), back to our log-in page;
    empty when the provider has none or does not answer."""
    try:
        endpoint = discover(settings.OIDC_ISSUER, timeout=3.0).get("end_session_endpoint")
    except DiscoveryError:
        return ""
    if not endpoint:
        return ""
    back = request.build_absolute_uri(reverse("login"))
    query = urlencode({"client_id": settings.OIDC_CLIENT_ID, "post_logout_redirect_uri": back})
    return f"{endpoint}?{query}"
