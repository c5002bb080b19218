"""The browser side of the API: each person's tokens for a team. Any member (any role) manages
their own tokens; a token acts with its user's role, so it never grants more than that."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from sharing import services
from sharing.access import team_for
from sharing.forms import ApiTokenForm
from sharing.models import ApiToken, Role


@login_required
@never_cache
def tokens(request: HttpRequest, team_slug: str) -> HttpResponse:
    """The list and the form. A new token is shown in the answer to the POST, once: it is not
    kept anywhere it could be shown again (not even in a message cookie)."""
    membership = team_for(request, team_slug, role=Role.AUDITOR)
    team = membership.team
    form = ApiTokenForm(request.POST or None, team=team)
    secret = ""
    if request.method == "POST" and form.is_valid():
        _, secret = services.api_token_create(
            user=membership.user, team=team, name=form.cleaned_data["name"],
            expires_at=form.cleaned_data["expires_at"],
        )  # fmt: skip
        form = ApiTokenForm(team=team)
    listed = ApiToken.objects.filter(user_id=membership.user_id, team=team)
    context = {"form": form, "tokens": listed, "secret": secret}
    return render(request, "sharing/tokens.html", context)


@login_required
@require_POST
def token_revoke(request: HttpRequest, team_slug: str, pk: int) -> HttpResponse:
    membership = team_for(request, team_slug, role=Role.AUDITOR)
    team = membership.team
    token = get_object_or_404(ApiToken, pk=pk, team=team, user_id=membership.user_id)
    services.api_token_revoke(token=token)
    messages.success(request, f"Token “{token.name}” revoked: it no longer works.")
    return redirect("api_tokens", team_slug=team.slug)
