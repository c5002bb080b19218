from django.core.management.base import BaseCommand

from sharing import services
from sharing.models import Team


class Command(BaseCommand):
    help = (
        "Reconcile the dashboard with the cloud: settle attempts left without an outcome, copy "
        "consumers' status changes, and record members added or removed outside the dashboard."
    )

    def add_arguments(self, parser):
        parser.add_argument("--team", help="Only this team's slug.")

    def handle(self, *args, **options):
        teams = Team.objects.exclude(identity_url="")
        if options["team"]:
            teams = teams.filter(slug=options["team"])
        for team in teams:
            settled = services.attempts_settle(team=team)
            drifts = services.shares_sync(team=team)
            self.stdout.write(f"{team.slug}: {settled} attempt(s) settled, {drifts} drift(s).")
