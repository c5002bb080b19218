"""Endpoints and deliveries: create, rotate, disable, ping, redeliver, and the delivery run."""

import base64
import secrets
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
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
# A worker holds a batch this long, and stops sending it after half of that (the rest is let
# go for the next run), so a hold never ends while its delivery is on the wire.
CLAIM = timedelta(minutes=2)
BATCH = 500


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

    A delivery is due when its time has come, its endpoint is enabled and no worker holds
    it; one concerning a member waits while an earlier one of that member to that endpoint
    waits for its retry, is held by another worker, or failed in this batch. The answers of
    a batch are written together: a worker killed mid-batch leaves its deliveries held, and
    they are sent again (same `webhook-id`, same body) once the hold ends.
    """
    counts: Counter[str] = Counter()
    while due := _due(timezone.now()):
        held = {found.pk: found for found in _claim([pk for pk, _ in due], timezone.now())}
        if not held:
            break
        answers = _send_in_order(due, held)
        _record(answers)
        sent = [found.state for found, ok in answers if ok is not None]
        if not sent:
            break  # all let go: another worker holds what they wait for
        counts.update(sent)
    return counts


def _send_in_order(
    due: list[tuple[int, tuple]], held: dict[int, Delivery]
) -> list[tuple[Delivery, bool | None]]:
    """Send the held deliveries in id order; after a failure, or one not held, the later
    ones of that member are let go unsent (answer None) for a later run, and so is the rest
    of the batch once half the hold has passed."""
    secrets: dict[int, list[str]] = {}
    blocked: set[tuple] = set()
    answers: list[tuple[Delivery, bool | None]] = []
    stop = time.monotonic() + CLAIM.total_seconds() / 2 - settings.WEBHOOKS_TIMEOUT
    sent = 0
    for pk, member in due:
        found = held.get(pk)
        late = sent > 0 and time.monotonic() > stop  # at least one is always sent
        if found is None or member in blocked or late:
            blocked.add(member)
            if found is not None:
                found.claimed_until, found.claimed_by = None, ""
                answers.append((found, None))
            continue
        ok, sent = _send(found, secrets), sent + 1
        answers.append((found, ok))
        if not ok:
            blocked.add(member)
    return answers


def next_due() -> datetime | None:
    """When the earliest pending delivery to an enabled endpoint is due."""
    pending = Delivery.objects.filter(state=DeliveryState.PENDING, endpoint__disabled_at=None)
    return pending.order_by("next_attempt_at").values_list("next_attempt_at", flat=True).first()


def _due(now: datetime) -> list[tuple[int, tuple]]:
    """Up to BATCH due deliveries, oldest first, each with the member it concerns (its own id
    when it concerns none); none whose member has an earlier delivery waiting or held."""
    waiting = Delivery.objects.filter(
        endpoint=OuterRef("endpoint"),
        subject=OuterRef("subject"),
        state=DeliveryState.PENDING,
        id__lt=OuterRef("id"),
    ).filter(Q(next_attempt_at__gt=now) | Q(claimed_until__gte=now))
    due = (
        Delivery.objects.filter(
            state=DeliveryState.PENDING, next_attempt_at__lte=now, endpoint__disabled_at=None
        )
        .filter(Q(claimed_until=None) | Q(claimed_until__lt=now))
        .exclude(~Q(subject="") & Exists(waiting))
        .order_by("id")
    )
    rows = due.values_list("id", "endpoint_id", "subject")[:BATCH]
    return [(pk, (endpoint, subject or pk)) for pk, endpoint, subject in rows]


def _claim(ids: list[int], now: datetime) -> list[Delivery]:
    """The deliveries among `ids` this worker now holds (another worker may hold some)."""
    if not ids:
        return []
    token = uuid.uuid4().hex
    Delivery.objects.filter(pk__in=ids, state=DeliveryState.PENDING).filter(
        Q(claimed_until=None) | Q(claimed_until__lt=now)
    ).update(claimed_by=token, claimed_until=now + CLAIM)
    held = Delivery.objects.filter(pk__in=ids, claimed_by=token)
    return list(held.select_related("endpoint", "event").order_by("id"))


def _attempt(found: Delivery) -> str:
    """Send one held delivery and record the answer; the delivery's new state."""
    _record([(found, _send(found, {}))])
    return found.state


def _send(found: Delivery, secrets: dict[int, list[str]]) -> bool:
    """POST a held delivery once and set its fields from the answer (not saved); True if 2xx.

    `secrets` caches each endpoint's decrypted secrets for the batch."""
    endpoint, event = found.endpoint, found.event
    if endpoint.pk not in secrets:
        secrets[endpoint.pk] = endpoint.signing_secrets()
    headers = http.signed_headers(secrets[endpoint.pk], event.message_id, event.body)
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
    return answer.ok


RESULT_FIELDS = [
    "attempts", "last_attempt_at", "status_code", "latency_ms", "response_head", "error",
    "claimed_until", "claimed_by", "state", "delivered_at", "next_attempt_at",
]  # fmt: skip


def _write_results(batch: list[Delivery]) -> None:
    """One UPDATE per delivery, sent as one `executemany` in one transaction: bulk_update's
    CASE expressions cost more than the requests they record."""
    fields = [field for field in Delivery._meta.concrete_fields if field.name in RESULT_FIELDS]
    columns = ", ".join(f"{connection.ops.quote_name(field.attname)} = %s" for field in fields)
    table = connection.ops.quote_name(Delivery._meta.db_table)
    rows = [
        [field.get_db_prep_save(getattr(found, field.attname), connection) for field in fields]
        + [found.pk]
        for found in batch
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {columns} WHERE id = %s", rows)  # noqa: S608


def _record(answers: list[tuple[Delivery, bool | None]]) -> None:
    """Write a batch's answers in one transaction, then the health of each endpoint called
    (None: not sent, only let go)."""
    _write_results([found for found, _ in answers])
    sent: dict[int, list[bool]] = {}
    for found, ok in answers:
        if ok is not None:
            sent.setdefault(found.endpoint_id, []).append(ok)
    now = timezone.now()
    for found, _ in answers:
        if found.endpoint_id in sent:
            _endpoint_health(found.endpoint, ok=any(sent.pop(found.endpoint_id)), now=now)


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
