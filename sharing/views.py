from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from sharing.access import team_for
from sharing.models import Membership


@require_GET
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """To the chosen team (the switcher sends `?team=`), else the user's first team."""
    memberships = Membership.objects.filter(user=request.user).select_related("team")
    membership = (
        memberships.filter(team__slug=request.GET.get("team", "")).first() or memberships.first()
    )
    if membership is None:
        return render(request, "sharing/no_team.html", status=200)
    return redirect("images", team=membership.team.slug)


def _not_built(request: HttpRequest, team: str, title: str) -> HttpResponse:
    team_for(request, team)
    return render(request, "sharing/not_built.html", {"title": title})


@login_required
def images(request: HttpRequest, team: str) -> HttpResponse:
    return _not_built(request, team, "Images")


@login_required
def incoming(request: HttpRequest, team: str) -> HttpResponse:
    return _not_built(request, team, "Incoming shares")


@login_required
def requests(request: HttpRequest, team: str) -> HttpResponse:
    return _not_built(request, team, "Access requests")


@login_required
def history(request: HttpRequest, team: str) -> HttpResponse:
    return _not_built(request, team, "History")


@login_required
def partners(request: HttpRequest, team: str) -> HttpResponse:
    return _not_built(request, team, "Partners")
