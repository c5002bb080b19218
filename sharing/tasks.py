"""Background work on Django's task framework (`django.tasks`, run by `db_worker`)."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.tasks import TaskResultStatus, task
from django.utils import timezone

from sharing import services
from sharing.models import Team
from sharing.webhooks import outbox

log = logging.getLogger(__name__)

TIME_LIMITS_EVERY = timedelta(hours=1)


@task
def enforce_time_limits() -> dict[str, str]:
    """`sync_shares` then `expire_shares`, for every team; then the next run is enqueued.

    `python manage.py schedule_tasks` (in the release step) starts the chain once.
    """
    report = {}
    try:
        for team in Team.objects.exclude(identity_url=""):
            report[team.slug] = for_each_team(team, _reconcile_and_limit).line
    finally:
        schedule_next(already_running=True)  # the chain goes on, whatever happened above
        outbox.wake_worker()  # webhook events whose wake-up was lost (a process killed) go now
    return report


def _reconcile_and_limit(team: Team) -> str:
    return "; ".join(
        [
            services.team_reconcile(team=team),
            services.team_time_limits(team=team),
            services.ledger_checkpoint_if_due(team=team),
        ]
    )


@dataclass(frozen=True)
class TeamReport:
    """One team's part of a background job: whether it failed, and a line for people."""

    line: str
    failed: bool = False


# Words for people; that a team failed is `TeamReport.failed`.
FAILED_LINE = "failed: {kind}: {error}"


def for_each_team(team: Team, work: Callable[[Team], object]) -> TeamReport:
    """Run one team's share of a background job; a failure is logged and reported.

    The broad `except` is deliberate and only here: one team's bad data or cloud must not
    stop the job for the teams after it. Views and services never catch this broadly.
    """
    try:
        return TeamReport(str(work(team)))
    except Exception as exc:
        log.exception("Background work failed for team %s", team.slug)
        return TeamReport(FAILED_LINE.format(kind=type(exc).__name__, error=exc), failed=True)


def schedule_next(*, already_running: bool = False) -> bool:
    """Enqueue the next run in an hour, unless one is already waiting; True if enqueued.

    Only a backend that can defer (the database one) makes a periodic chain; the immediate
    backend of the demo and tests would run it at once, forever.
    """
    backend = enforce_time_limits.get_backend()
    if not backend.supports_defer:
        return False
    if not already_running and _waiting_runs():
        return False
    enforce_time_limits.using(run_after=timezone.now() + TIME_LIMITS_EVERY).enqueue()
    return True


def _waiting_runs() -> bool:
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(
        task_path=enforce_time_limits.module_path,
        status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING],
    ).exists()
