from django.core.management.base import BaseCommand

from sharing import services
from sharing.models import Team


class Command(BaseCommand):
    help = "Settle ledger attempts left without an outcome (for cron, or after a crash)."

    def add_arguments(self, parser):
        parser.add_argument("--team", help="Only this team's slug.")

    def handle(self, *args, **options):
        teams = Team.objects.exclude(identity_url="")
        if options["team"]:
            teams = teams.filter(slug=options["team"])
        for team in teams:
            settled = services.attempts_settle(team=team)
            self.stdout.write(f"{team.slug}: {settled} unresolved attempt(s) settled.")
