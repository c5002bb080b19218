"""The team's webhook endpoints, for admins: add, ping, read the delivery log, redeliver,
rotate the secret, disable, delete. A secret is shown in the answer to the POST that made it,
once, and kept nowhere it could be shown again."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from sharing.access import team_for
from sharing.models import Role

from . import services
from .forms import EndpointForm
from .models import Delivery, Endpoint

LOG_LENGTH = 50


def _endpoint(request: HttpRequest, team_slug: str, pk: int) -> Endpoint:
    team = team_for(request, team_slug, Role.ADMIN).team
    return get_object_or_404(Endpoint.objects.select_related("team"), pk=pk, team=team)


@login_required
@never_cache
def endpoints(request: HttpRequest, team_slug: str) -> HttpResponse:
    membership = team_for(request, team_slug, Role.ADMIN)
    team = membership.team
    form = EndpointForm(request.POST or None)
    secret, created = "", None
    if request.method == "POST" and form.is_valid():
        created, secret = services.endpoint_create(
            team=team, actor=membership.user, url=form.cleaned_data["url"],
            event_types=form.cleaned_data["events"],
        )  # fmt: skip
        form = EndpointForm()
    listed = Endpoint.objects.filter(team=team)
    context = {"form": form, "endpoints": listed, "secret": secret, "created": created}
    return render(request, "webhooks/endpoints.html", context)


@login_required
@require_GET
@never_cache
def endpoint(request: HttpRequest, team_slug: str, pk: int) -> HttpResponse:
    return _endpoint_page(request, _endpoint(request, team_slug, pk))


def _endpoint_page(request: HttpRequest, found: Endpoint, secret: str = "") -> HttpResponse:
    log = found.deliveries.select_related("event").order_by("-id")[:LOG_LENGTH]
    context = {"endpoint": found, "deliveries": log, "secret": secret}
    return render(request, "webhooks/endpoint.html", context)


@login_required
@require_POST
def endpoint_ping(request: HttpRequest, team_slug: str, pk: int) -> HttpResponse:
    found = _endpoint(request, team_slug, pk)
    sent = services.endpoint_ping(endpoint=found)
    if sent.state == "delivered":
        messages.success(request, f"Ping delivered: {sent.status_code} in {sent.latency_ms} ms.")
    else:
        answer = f"answered {sent.status_code}" if sent.status_code else sent.error
        messages.error(request, f"Ping not delivered ({answer}); it will be retried.")
    return redirect("webhook", team_slug=found.team.slug, pk=found.pk)


@login_required
@require_POST
@never_cache
def endpoint_rotate(request: HttpRequest, team_slug: str, pk: int) -> HttpResponse:
    """The new secret is shown in this answer, once."""
    found = _endpoint(request, team_slug, pk)
    secret = services.endpoint_rotate(endpoint=found)
    return _endpoint_page(request, found, secret)


@login_required
@require_POST
def endpoint_disable(request: HttpRequest, team_slug: str, pk: int) -> HttpResponse:
    found = _endpoint(request, team_slug, pk)
    services.endpoint_disable(endpoint=found)
    messages.success(
        request,
        "Disabled: no new events are sent to it; undelivered ones wait until it is enabled.",
    )
    return redirect("webhook", team_slug=found.team.slug, pk=found.pk)


@login_required
@require_POST
def endpoint_enable(request: HttpRequest, team_slug: str, pk: int) -> HttpResponse:
    found = _endpoint(request, team_slug, pk)
    services.endpoint_enable(endpoint=found)
    messages.success(request, "Enabled: waiting events go out now.")
    return redirect("webhook", team_slug=found.team.slug, pk=found.pk)


@login_required
@require_POST
def endpoint_delete(request: HttpRequest, team_slug: str, pk: int) -> HttpResponse:
    found = _endpoint(request, team_slug, pk)
    services.endpoint_delete(endpoint=found)
    messages.success(request, f"Deleted the endpoint {found.url} and its delivery log.")
    return redirect("webhooks", team_slug=found.team.slug)


@login_required
@require_POST
def delivery_redeliver(request: HttpRequest, team_slug: str, pk: int, delivery_pk: int):
    found = _endpoint(request, team_slug, pk)
    chosen = get_object_or_404(Delivery, pk=delivery_pk, endpoint=found)
    services.delivery_redeliver(delivery=chosen)
    messages.success(request, f"Sending {chosen.event.type} again, with the same webhook-id.")
    return redirect("webhook", team_slug=found.team.slug, pk=found.pk)
