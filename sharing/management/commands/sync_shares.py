from datetime import timedelta

from django.core.management.base import BaseCommand

from sharing import services
from sharing.management.teams import run_for_each_team
from sharing.models import Team


class Command(BaseCommand):
    help = (
        "Reconcile the dashboard with the cloud: settle attempts left without an outcome and "
        "approvals that stopped half-way, copy consumers' status changes, and record members "
        "added or removed outside the dashboard. "
        "A team that fails is reported and the others still run; the exit status is then 1."
    )

    def add_arguments(self, parser):
        parser.add_argument("--team", help="Only this team's slug.")
        parser.add_argument(
            "--settle-after",
            type=float,
            default=services.SETTLE_AFTER.total_seconds(),
            metavar="SECONDS",
            help="Settle open entries at least this old (default: %(default)s).",
        )

    def handle(self, *args, **options):
        teams = Team.objects.exclude(identity_url="")
        if options["team"]:
            teams = teams.filter(slug=options["team"])
        older_than = timedelta(seconds=options["settle_after"])
        run_for_each_team(
            self,
            teams,
            lambda team: services.team_reconcile(team=team, older_than=older_than),
            "Reconciling",
        )
