import json

from django.core.management.base import BaseCommand, CommandError

from sharing import services
from sharing.models import Team


class Command(BaseCommand):
    help = (
        "Sign a checkpoint of a team's ledger now and print it as JSON: keep the output "
        "outside this server, and verify against it later with verify_ledger --checkpoint."
    )

    def add_arguments(self, parser):
        parser.add_argument("team", help="the team's slug")

    def handle(self, *args, team, **options):
        found = Team.objects.filter(slug=team).first()
        if found is None:
            raise CommandError(f"No team {team!r}.")
        checkpoint = services.ledger_checkpoint_create(team=found)
        self.stdout.write(json.dumps(services.checkpoint_document(checkpoint), indent=2))
