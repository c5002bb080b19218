"""What the per-team management commands share: each team on its own, a line each."""

from collections.abc import Callable, Iterable

from django.core.management.base import BaseCommand, CommandError

from sharing.models import Team
from sharing.tasks import for_each_team


def run_for_each_team(
    command: BaseCommand, teams: Iterable[Team], work: Callable[[Team], object], what: str
) -> None:
    """Run `work` for every team, printing its report line; a team that fails is reported on
    stderr, the others still run, and the command then exits with status 1 naming it."""
    failed = []
    for team in teams:
        report = for_each_team(team, work)
        if report.failed:
            failed.append(team.slug)
            command.stderr.write(f"{team.slug}: {report.line}")
        else:
            command.stdout.write(f"{team.slug}: {report.line}")
    if failed:
        raise CommandError(f"{what} failed for {', '.join(failed)}; see the log.")
