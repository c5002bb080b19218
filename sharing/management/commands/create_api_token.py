from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from sharing import services
from sharing.models import Team


class Command(BaseCommand):
    help = (
        "Create an API token for a team member (for a pipeline's secret store). The token acts "
        "as that user with their role in the team; it is printed once, as the last line."
    )

    def add_arguments(self, parser):
        parser.add_argument("team", help="the team's slug")
        parser.add_argument("username")
        parser.add_argument("--name", default="command line", help="shown in the token list")

    def handle(self, *args, team, username, name, **options):
        found_team = Team.objects.filter(slug=team).first()
        if found_team is None:
            raise CommandError(f"No team {team!r}.")
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        try:
            token, secret = services.api_token_create(user=user, team=found_team, name=name)
        except services.ApplicationError as error:
            raise CommandError(error.message) from None
        self.stderr.write(
            f"Token “{token.name}” for {username} in {found_team.slug} ({token.prefix}…); "
            "store it now, it is not shown again:"
        )
        self.stdout.write(secret)
