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
