from django.core.management.base import BaseCommand

from sharing import services
from sharing.management.teams import run_for_each_team
from sharing.models import Team


class Command(BaseCommand):
    help = (
        "Revoke shares past their end date, expire stale access requests and remind admins of "
        "shares that end soon. Safe to run as often as you like (cron, or the worker's task). "
        "A team that fails is reported and the others still run; the exit status is then 1."
    )

    def handle(self, *args, **options):
        teams = Team.objects.exclude(identity_url="")
        run_for_each_team(
            self, teams, lambda team: services.team_time_limits(team=team), "Time limits"
        )
