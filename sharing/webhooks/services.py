"""Endpoints and deliveries: create, rotate, disable, ping, redeliver, and the delivery run."""

import base64
import secrets
import uuid
from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from sharing import notifications
from sharing.models import Team

from . import delivery as http
from . import events, outbox
from .models import Delivery, DeliveryState, Endpoint

# A rotated secret keeps signing next to the new one this long.
ROTATION_OVERLAP = timedelta(hours=24)
# Waits before each retry, as the Standard Webhooks retry schedule: about a day in all.
RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
# An endpoint whose deliveries have failed this long without one success is disabled.
DISABLE_AFTER = timedelta(days=5)
# A worker holds the deliveries it sends this long (longer than a request's timeout).
CLAIM = timedelta(minutes=2)
BATCH = 100


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def endpoint_create(
    *, team: Team, actor: User | None, url: str, event_types: list[str]
) -> tuple[Endpoint, str]:
    """A new endpoint and its secret, which is shown this once."""
    secret = new_secret()
    endpoint = Endpoint(team=team, url=url, events=sorted(set(event_types)), created_by=actor)
    endpoint.set_secret(secret)
    endpoint.save()
    return endpoint, secret


def endpoint_rotate(*, endpoint: Endpoint) -> str:
    """A new secret; the current one keeps signing too for ROTATION_OVERLAP."""
    secret = new_secret()
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted
    endpoint.previous_until = timezone.now() + ROTATION_OVERLAP
    endpoint.set_secret(secret)
    endpoint.save(update_fields=["secret_encrypted", "previous_secret_encrypted", "previous_until"])
    return secret


def endpoint_disable(*, endpoint: Endpoint, reason: str = "Disabled by an admin.") -> bool:
    """No new events for it, and what is undelivered waits; False if it was disabled already."""
    now = timezone.now()
    won = Endpoint.objects.filter(pk=endpoint.pk, disabled_at=None).update(
        disabled_at=now, disabled_reason=reason[:200]
    )
    endpoint.refresh_from_db()
    return bool(won)


def endpoint_enable(*, endpoint: Endpoint) -> None:
    """Deliveries resume: the waiting ones at once, in their order."""
    Endpoint.objects.filter(pk=endpoint.pk).update(
        disabled_at=None, disabled_reason="", failing_since=None
    )
    endpoint.deliveries.filter(state=DeliveryState.PENDING).update(next_attempt_at=timezone.now())
    endpoint.refresh_from_db()
    transaction.on_commit(outbox.wake_worker, robust=True)


def endpoint_delete(*, endpoint: Endpoint) -> None:
    endpoint.delete()


def endpoint_ping(*, endpoint: Endpoint) -> Delivery:
    """A `ping` event to this endpoint alone, sent at once; its delivery, with the answer."""
    with transaction.atomic():
        event = outbox.write(
            team=endpoint.team,
            event_type=events.PING,
            data={"endpoint": endpoint.pk, "url": endpoint.url},
            endpoints=[endpoint],
            wake=False,
        )
    found = Delivery.objects.select_related("endpoint", "event").get(event=event)
    if _claim([found.pk], timezone.now()):
        found.refresh_from_db()
        _attempt(found)
    return found


def delivery_redeliver(*, delivery: Delivery) -> None:
    """Send the same event again (same `webhook-id`, same body), with a fresh retry schedule."""
    Delivery.objects.filter(pk=delivery.pk).update(
        state=DeliveryState.PENDING, attempts=0, next_attempt_at=timezone.now(),
        claimed_until=None, claimed_by="",
    )  # fmt: skip
    transaction.on_commit(outbox.wake_worker, robust=True)


# The delivery run


def deliveries_run() -> Counter[str]:
    """Send every delivery that is due, in order per endpoint and member; counts by result.

    A delivery is due when its time has come, its endpoint is enabled, no worker holds it,
    and no earlier delivery of the same member to the same endpoint is still pending.
    """
    counts: Counter[str] = Counter()
    while batch := _claim(_due_ids(timezone.now()), timezone.now()):
        for found in batch:
            counts[_attempt(found)] += 1
    return counts


def next_due() -> datetime | None:
    """When the earliest pending delivery to an enabled endpoint is due."""
    pending = Delivery.objects.filter(state=DeliveryState.PENDING, endpoint__disabled_at=None)
    return pending.order_by("next_attempt_at").values_list("next_attempt_at", flat=True).first()


def _due_ids(now: datetime) -> list[int]:
    earlier = Delivery.objects.filter(
        endpoint=OuterRef("endpoint"),
        subject=OuterRef("subject"),
        state=DeliveryState.PENDING,
        id__lt=OuterRef("id"),
    ).exclude(subject="")
    due = (
        Delivery.objects.filter(
            state=DeliveryState.PENDING, next_attempt_at__lte=now, endpoint__disabled_at=None
        )
        .filter(Q(claimed_until=None) | Q(claimed_until__lt=now))
        .exclude(Exists(earlier))
        .order_by("id")
    )
    return list(due.values_list("id", flat=True)[:BATCH])


def _claim(ids: list[int], now: datetime) -> list[Delivery]:
    """The deliveries among `ids` this worker now holds (another worker may hold some)."""
    if not ids:
        return []
    token = uuid.uuid4().hex
    Delivery.objects.filter(pk__in=ids, state=DeliveryState.PENDING).filter(
        Q(claimed_until=None) | Q(claimed_until__lt=now)
    ).update(claimed_by=token, claimed_until=now + CLAIM)
    held = Delivery.objects.filter(pk__in=ids, claimed_by=token)
    return list(held.select_related("endpoint", "endpoint__team", "event").order_by("id"))


def _attempt(found: Delivery) -> str:
    """Send one held delivery and record the answer; the delivery's new state."""
    endpoint, event = found.endpoint, found.event
    headers = http.signed_headers(endpoint.signing_secrets(), event.message_id, event.body)
    answer = http.post(
        endpoint.url, event.body, headers,
        timeout=settings.WEBHOOKS_TIMEOUT, allow_private=settings.WEBHOOKS_ALLOW_PRIVATE,
    )  # fmt: skip
    now = timezone.now()
    found.attempts += 1
    found.last_attempt_at, found.status_code = now, answer.status
    found.latency_ms, found.response_head, found.error = (
        answer.latency_ms,
        answer.head,
        answer.error,
    )
    found.claimed_until, found.claimed_by = None, ""
    if answer.ok:
        found.state, found.delivered_at = DeliveryState.DELIVERED, now
    elif found.attempts > len(RETRY_DELAYS):
        found.state = DeliveryState.FAILED
    else:
        found.next_attempt_at = now + RETRY_DELAYS[found.attempts - 1]
    found.save()
    _endpoint_health(endpoint, ok=answer.ok, now=now)
    return found.state


def _endpoint_health(endpoint: Endpoint, *, ok: bool, now: datetime) -> None:
    """Track how long an endpoint has failed; past DISABLE_AFTER it is disabled, admins told."""
    if ok:
        if endpoint.failing_since is not None:
            Endpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
            endpoint.failing_since = None
        return
    if endpoint.failing_since is None:
        Endpoint.objects.filter(pk=endpoint.pk, failing_since=None).update(failing_since=now)
        endpoint.failing_since = now
    elif now - endpoint.failing_since >= DISABLE_AFTER and endpoint.enabled:
        days = DISABLE_AFTER.days
        if endpoint_disable(endpoint=endpoint, reason=f"Every delivery failed for {days} days."):
            _tell_admins(endpoint)


def _tell_admins(endpoint: Endpoint) -> None:
    notifications.webhook_disabled(endpoint.team, {"url": endpoint.url, "days": DISABLE_AFTER.days})
