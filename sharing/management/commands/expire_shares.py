from django.core.management.base import BaseCommand

from sharing import services
from sharing.models import Team


class Command(BaseCommand):
    help = (
        "Revoke shares past their end date, expire stale access requests and remind admins of "
        "shares that end soon. Safe to run as often as you like (cron, or the worker's task)."
    )

    def handle(self, *args, **options):
        for team in Team.objects.exclude(identity_url=""):
            report = services.team_time_limits(team=team)
            self.stdout.write(f"{team.slug}: {report}")
