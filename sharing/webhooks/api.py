"""The webhooks part of the automation API, registered on the v1 API (admins only)."""

from datetime import datetime
from typing import Literal

from django.http import Http404, HttpRequest, HttpResponse
from ninja import Field, Schema

from sharing.api import schemas as s
from sharing.api.auth import membership_for
from sharing.api.endpoints import _form_errors, _json, api
from sharing.api.idempotency import idempotent
from sharing.models import Role, Team

from . import services
from .events import EVENT_TYPES
from .forms import EndpointForm
from .models import Delivery, Endpoint

PAGE = 50


class WebhookIn(Schema):
    url: str = Field(
        max_length=500,
        pattern=r"^https?://[^\s/?#]+",
        examples=["https://hooks.example.com/images"],
        description="an http(s) address with a host name or address; it must be reachable "
        "from the dashboard and, unless the deployment allows it, not a private address",
    )
    events: list[Literal[tuple(EVENT_TYPES)]] = Field(  # type: ignore[valid-type]
        min_length=1, examples=[["share.succeeded", "share.failed"]]
    )


class WebhookOut(Schema):
    id: int
    url: str
    events: list[str]
    enabled: bool
    disabled_reason: str
    failing_since: datetime | None
    previous_secret_until: datetime | None = Field(description="the old secret signs until then")
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="the signing secret (`whsec_…`), shown this once")


class RotateOut(Schema):
    secret: str = Field(description="the new signing secret, shown this once")
    previous_secret_until: datetime


class DeliveryOut(Schema):
    id: int
    webhook_id: str = Field(description="the `webhook-id` header: the same on every retry")
    type: str
    state: str = Field(description="pending, delivered or failed (retries exhausted)")
    attempts: int
    status_code: int | None
    latency_ms: int | None
    response_head: str = Field(description="the first bytes of the receiver's answer")
    error: str
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None


class DeliveriesPage(Schema):
    results: list[DeliveryOut]
    next: int | None = Field(description="pass as `cursor` for the next page; null at the end")


def _webhook_out(endpoint: Endpoint) -> dict:
    return {
        "id": endpoint.pk,
        "url": endpoint.url,
        "events": endpoint.events,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "failing_since": endpoint.failing_since,
        "previous_secret_until": endpoint.previous_until,
        "created_at": endpoint.created_at,
    }


def _delivery_out(found: Delivery) -> dict:
    return {
        "id": found.pk,
        "webhook_id": found.event.message_id,
        "type": found.event.type,
        "state": found.state,
        "attempts": found.attempts,
        "status_code": found.status_code,
        "latency_ms": found.latency_ms,
        "response_head": found.response_head,
        "error": found.error,
        "created_at": found.event.created_at,
        "last_attempt_at": found.last_attempt_at,
        "next_attempt_at": found.next_attempt_at if found.state == "pending" else None,
        "delivered_at": found.delivered_at,
    }


def _endpoint(team: Team, pk: int) -> Endpoint:
    found = Endpoint.objects.select_related("team").filter(team=team, pk=pk).first()
    if found is None:
        raise Http404(f"This team has no webhook endpoint #{pk}.")
    return found


@api.get(
    "/teams/{team}/webhooks/",
    response={200: list[WebhookOut], **s.PROBLEMS},
    tags=["webhooks"],
    summary="The team's webhook endpoints",
)
def webhooks(request: HttpRequest, team: str):
    found_team = membership_for(request, team, Role.ADMIN).team
    return [_webhook_out(e) for e in Endpoint.objects.filter(team=found_team)]


@api.post(
    "/teams/{team}/webhooks/",
    response={201: WebhookCreated, **s.PROBLEMS},
    tags=["webhooks"],
    summary="Add an endpoint; the answer carries its signing secret, this once",
    description="Event types: " + ", ".join(f"`{name}`" for name in EVENT_TYPES) + ".",
)
def webhook_create(request: HttpRequest, team: str, payload: WebhookIn):
    membership = membership_for(request, team, Role.ADMIN)
    form = EndpointForm({"url": payload.url, "events": payload.events})
    if not form.is_valid():
        return _form_errors(form, {})

    def work() -> HttpResponse:
        created, secret = services.endpoint_create(
            team=membership.team, actor=membership.user, url=form.cleaned_data["url"],
            event_types=form.cleaned_data["events"],
        )  # fmt: skip
        return _json(WebhookCreated, {**_webhook_out(created), "secret": secret}, status=201)

    return idempotent(request, work)


@api.delete(
    "/teams/{team}/webhooks/{webhook_id}/",
    response={204: None, **s.PROBLEMS},
    tags=["webhooks"],
    summary="Delete an endpoint and its delivery log",
)
def webhook_delete(request: HttpRequest, team: str, webhook_id: int):
    found = _endpoint(membership_for(request, team, Role.ADMIN).team, webhook_id)

    def work() -> HttpResponse:
        services.endpoint_delete(endpoint=found)
        return HttpResponse(status=204)

    return idempotent(request, work)


@api.post(
    "/teams/{team}/webhooks/{webhook_id}/ping/",
    response={200: DeliveryOut, **s.PROBLEMS},
    tags=["webhooks"],
    summary="Send a `ping` event now; the answer is its delivery (retried if it failed)",
)
def webhook_ping(request: HttpRequest, team: str, webhook_id: int):
    found = _endpoint(membership_for(request, team, Role.ADMIN).team, webhook_id)

    def work() -> HttpResponse:
        return _json(DeliveryOut, _delivery_out(services.endpoint_ping(endpoint=found)))

    return idempotent(request, work)


@api.get(
    "/teams/{team}/webhooks/{webhook_id}/deliveries/",
    response={200: DeliveriesPage, **s.PROBLEMS},
    tags=["webhooks"],
    summary="The endpoint's deliveries, newest first, with their last answer",
)
def webhook_deliveries(request: HttpRequest, team: str, webhook_id: int, cursor: int | None = None):
    found = _endpoint(membership_for(request, team, Role.ADMIN).team, webhook_id)
    listed = found.deliveries.select_related("event").order_by("-id")
    if cursor is not None:
        listed = listed.filter(pk__lt=cursor)
    page = list(listed[: PAGE + 1])
    more, page = len(page) > PAGE, page[:PAGE]
    return {"results": [_delivery_out(d) for d in page], "next": page[-1].pk if more else None}


@api.post(
    "/teams/{team}/webhooks/{webhook_id}/rotate/",
    response={200: RotateOut, **s.PROBLEMS},
    tags=["webhooks"],
    summary="A new signing secret; the old one keeps signing too for a day",
)
def webhook_rotate(request: HttpRequest, team: str, webhook_id: int):
    found = _endpoint(membership_for(request, team, Role.ADMIN).team, webhook_id)

    def work() -> HttpResponse:
        secret = services.endpoint_rotate(endpoint=found)
        answer = {"secret": secret, "previous_secret_until": found.previous_until}
        return _json(RotateOut, answer)

    return idempotent(request, work)
