from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from allauth.account.internal.flows.login import get_authentication_records
from allauth.mfa.models import Authenticator
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from sharing.models import Team


def _methods(request: HttpRequest) -> set[str]:
    records = get_authentication_records(request, request.user)
    return {str(record.get("method")) for record in records}


def signed_in_with_sso(request: HttpRequest) -> bool:
    return "socialaccount" in _methods(request)


def second_factor_done(request: HttpRequest) -> bool:
    """Did this session sign in with a second factor, or through single sign-on (where the
    organisation's provider decides which factors it asks for)?"""
    return bool(_methods(request) & {"mfa", "socialaccount"})


class SecondFactorMiddleware:
    """A team whose setting requires a second factor shows its pages (every URL with a
    `team_slug`) only to sessions that `second_factor_done`. Others are sent to add an
    authenticator, or to confirm the one they have. Membership and role are still the views'
    checks; this only adds the factor."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: dict[str, Any]
    ) -> HttpResponse | None:
        slug, user = kwargs.get("team_slug"), request.user
        if not slug or not user.is_authenticated:
            return None
        required = Team.objects.filter(
            slug=slug, second_factor_required=True, memberships__user=user
        ).exists()
        if not required or second_factor_done(request):
            return None
        query = urlencode({"next": request.get_full_path()})
        if Authenticator.objects.filter(user=user).exists():
            return redirect(f"{reverse('mfa_reauthenticate')}?{query}")
        messages.warning(
            request,
            "This team asks for a second factor. Add an authenticator app or a passkey, "
            "then open the page again.",
        )
        return redirect(f"{reverse('mfa_index')}?{query}")
