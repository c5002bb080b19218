"""The outbox: events written in the transaction of the outcome they report.

`record` is called by the ledger service right after an entry gains its final outcome, inside
the same `transaction.atomic()` block: the event and its deliveries commit with the outcome or
not at all. The body is frozen here, so every attempt under one `webhook-id` sends the same
bytes. The worker is woken once the transaction commits; if that wake-up is lost (a process
killed between the commit and the enqueue), the rows wait for the next run: the next event's,
or the hourly job's (`sharing.tasks.enforce_time_limits` wakes the worker too).
"""

import json
import threading
import time
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from sharing.cloud import Image
from sharing.models import LedgerEntry, Share, Team

from . import events
from .models import Delivery, Endpoint, Event


def record(entry: LedgerEntry) -> Event | None:
    """The event for `entry`'s final outcome, with a delivery per subscribed endpoint; None
    when the outcome is no event or no endpoint of the team wants it."""
    event_type = events.type_of(entry)
    if event_type is None:
        return None
    endpoints = subscribed(entry.team_id, event_type)
    if not endpoints:
        return None
    return write(
        team=entry.team,
        event_type=event_type,
        data=events.data_of(event_type, entry),
        endpoints=endpoints,
        subject=events.subject_of(entry),
        moment=events.moment_of(entry),
        entry=entry,
    )


def subscribed(team_id: int, event_type: str) -> list[Endpoint]:
    """The team's enabled endpoints that want `event_type`."""
    endpoints = Endpoint.objects.filter(team_id=team_id, disabled_at=None)
    return [endpoint for endpoint in endpoints if endpoint.wants(event_type)]


def member_status_changed(*, share: Share, previous: str) -> Event | None:
    """The sync found that a tenant changed its status of one of the team's images (an event
    whose trigger is not a ledger outcome of its own); call inside the sync's transaction."""
    event_type = "member.status_changed"
    endpoints = subscribed(share.team_id, event_type)
    if not endpoints:
        return None
    data = events.member_data(
        share.region, share.image_id, share.image_name, share.tenant, share.status, previous
    )
    subject = f"{share.region}/{share.image_id}/{share.tenant}"
    return write(
        team=share.team, event_type=event_type, data=data, endpoints=endpoints, subject=subject
    )


def incoming_received(*, team: Team, region: str, image: Image) -> Event | None:
    """The sync saw, for the first time, an image another account shared with the team and
    that waits for its answer (no ledger outcome of its own: nothing was done yet); call inside
    the transaction that records it as seen."""
    event_type = "incoming.received"
    endpoints = subscribed(team.pk, event_type)
    if not endpoints:
        return None
    data = events.incoming_data(region, image, "pending")
    return write(
        team=team, event_type=event_type, data=data, endpoints=endpoints,
        subject=f"{region}/{image.id}/{team.tenant_id}",
    )  # fmt: skip


def write(
    *,
    team: Team,
    event_type: str,
    data: dict,
    endpoints: list[Endpoint],
    subject: str = "",
    moment: datetime | None = None,
    entry: LedgerEntry | None = None,
    wake: bool = True,
) -> Event:
    """An event and its deliveries, in the caller's transaction; the worker is woken after
    it commits."""
    body = {
        "type": event_type,
        "timestamp": (moment or timezone.now()).isoformat(),
        "team": team.slug,
        "data": data,
    }
    event = Event.objects.create(
        team=team,
        message_id=Event.new_message_id(),
        type=event_type,
        subject=subject,
        body=json.dumps(body, separators=(",", ":"), ensure_ascii=False),
        ledger_entry=entry,
    )
    Delivery.objects.bulk_create(
        Delivery(endpoint=endpoint, event=event, subject=subject) for endpoint in endpoints
    )
    if wake:
        transaction.on_commit(wake_worker, robust=True)
    return event


def wake_worker() -> None:
    """Have the worker run soon: the immediate backend (demo, tests) runs it now; with the
    database backend a run is enqueued unless one is queued and not started.

    A process checks at most once per WAKE_WINDOW: a bulk share commits a hundred outcomes
    in a second, and one check covers them. A commit that skips the check is still seen: the
    run that check found (or enqueued) starts after it, and looks again WAKE_WINDOW after it
    found nothing (`tasks.deliver_webhooks`), which is after that commit.
    """
    global _last_wake
    from .tasks import deliver_webhooks, run_waiting

    if not deliver_webhooks.get_backend().supports_defer:
        deliver_webhooks.enqueue()
        return
    now = time.monotonic()
    with _wake_lock:
        if now - _last_wake < WAKE_WINDOW:
            return
        _last_wake = now
    if not run_waiting():
        deliver_webhooks.enqueue()


WAKE_WINDOW = 0.2  # seconds
_wake_lock = threading.Lock()
_last_wake = -WAKE_WINDOW
