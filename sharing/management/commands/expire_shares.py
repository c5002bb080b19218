from django.core.management.base import BaseCommand, CommandError

from sharing import services
from sharing.models import Team
from sharing.tasks import for_each_team


class Command(BaseCommand):
    help = (
        "Revoke shares past their end date, expire stale access requests and remind admins of "
        "shares that end soon. Safe to run as often as you like (cron, or the worker's task). "
        "A team that fails is reported and the others still run; the exit status is then 1."
    )

    def handle(self, *args, **options):
        failed = []
        for team in Team.objects.exclude(identity_url=""):
            report = for_each_team(team, lambda team: services.team_time_limits(team=team))
            if report.startswith("failed:"):
                failed.append(team.slug)
                self.stderr.write(f"{team.slug}: {report}")
            else:
                self.stdout.write(f"{team.slug}: {report}")
        if failed:
            raise CommandError(f"Time limits failed for {', '.join(failed)}; see the log.")
