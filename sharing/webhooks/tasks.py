"""The delivery task, run by the task worker (`db_worker`), or at once by the immediate
backend of the demo and tests."""

import time
from datetime import datetime, timedelta

from django.db.models import Q
from django.tasks import TaskResultStatus, task
from django.utils import timezone

from . import outbox, services

# The earliest a follow-up run starts, so a burst of retries does not spin the worker.
FOLLOW_UP_MIN = timedelta(seconds=1)


@task
def deliver_webhooks() -> dict[str, int]:
    """Send what is due, and look again once after WAKE_WINDOW (wake-ups skipped meanwhile
    count on it: `outbox.wake_worker`); then, if retries wait, enqueue the run for them."""
    try:
        counts = services.deliveries_run()
        if deliver_webhooks.get_backend().supports_defer:
            time.sleep(outbox.WAKE_WINDOW)
            counts.update(services.deliveries_run())
        return dict(counts)
    finally:
        schedule_follow_up()


def schedule_follow_up() -> bool:
    """Enqueue a run for when the earliest waiting delivery is due; True if enqueued.

    Only a backend that can defer (the database one) does this: the immediate backend would
    run it at once, and retry at once, forever.
    """
    if not deliver_webhooks.get_backend().supports_defer:
        return False
    due = services.next_due()
    if due is None:
        return False
    run_after = max(due, timezone.now() + FOLLOW_UP_MIN)
    if _queued_by(run_after):
        return False  # a run already waits that will send it: one chain, not one per wake-up
    deliver_webhooks.using(run_after=run_after).enqueue()
    return True


def run_waiting() -> bool:
    """Whether a run is queued, due now and not started (only the database backend queues)."""
    if not deliver_webhooks.get_backend().supports_defer:
        return False
    return _queued_by(timezone.now())


def _queued_by(moment: datetime) -> bool:
    from django_tasks_db.models import DBTaskResult, get_date_max

    return (
        DBTaskResult.objects.filter(
            task_path=deliver_webhooks.module_path, status=TaskResultStatus.READY
        )
        .filter(Q(run_after=get_date_max()) | Q(run_after__lte=moment))
        .exists()
    )
