"""Background work on Django's task framework (`django.tasks`, run by `db_worker`)."""

from datetime import timedelta

from django.tasks import TaskResultStatus, task
from django.utils import timezone

from sharing import services
from sharing.models import Team

TIME_LIMITS_EVERY = timedelta(hours=1)


@task
def enforce_time_limits() -> dict[str, str]:
    """`sync_shares` then `expire_shares`, for every team; then the next run is enqueued.

    `python manage.py schedule_tasks` (in the release step) starts the chain once.
    """
    report = {}
    for team in Team.objects.exclude(identity_url=""):
        reconciled = services.team_reconcile(team=team)
        limits = services.team_time_limits(team=team)
        report[team.slug] = f"{reconciled}; {limits}"
    schedule_next(already_running=True)
    return report


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
