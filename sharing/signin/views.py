from typing import Any
from urllib.parse import urlsplit

from allauth.account import views as allauth_views
from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from .discovery import logout_url
from .middleware import signed_in_with_sso


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    """End the dashboard's session; after single sign-on, offer to end the provider's too (its
    session would otherwise sign the person straight back in)."""
    via_sso = signed_in_with_sso(request)
    logout(request)
    if not via_sso:
        return redirect(settings.LOGOUT_REDIRECT_URL)
    context = {"provider_name": settings.OIDC_NAME, "provider_logout": logout_url(request)}
    return render(request, "signin/signed_out.html", context)


def log_in(request: HttpRequest) -> HttpResponse:
    """django-allauth's log-in page, whose *Sign in with …* form may lead to the provider."""
    return allow_provider_forms(allauth_views.login(request))


def allow_provider_forms(response: HttpResponse) -> HttpResponse:
    """The CSP's `form-action` also covers where a form's answer redirects to: a page whose
    form starts single sign-on must allow the provider's origin, or the browser stops there."""
    if settings.OIDC_ISSUER:
        parts = urlsplit(settings.OIDC_ISSUER)
        policy: dict[str, Any] = dict(settings.SECURE_CSP)
        policy["form-action"] = [*policy["form-action"], f"{parts.scheme}://{parts.netloc}"]
        response._csp_config = policy  # type: ignore[attr-defined]
    return response
