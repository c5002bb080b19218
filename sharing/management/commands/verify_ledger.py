import base64
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from sharing import services
from sharing.models import Team


class Command(BaseCommand):
    help = (
        "Verify each team's ledger chain (or one team's): name the first entry that was edited, "
        "deleted, inserted or reordered. With --checkpoint FILE (a signed checkpoint kept by an "
        "auditor) also detect entries cut from the end since. Exit status 1 on any problem."
    )

    def add_arguments(self, parser):
        parser.add_argument("team", nargs="?", help="a team's slug (default: every team)")
        parser.add_argument("--checkpoint", type=Path, help="a checkpoint's JSON document")
        parser.add_argument(
            "--public-key",
            help="the base64 public key from /api/v1/ledger-key (default: this server's own)",
        )

    def handle(self, *args, team=None, checkpoint=None, public_key=None, **options):
        document = self._checkpoint(checkpoint, public_key) if checkpoint else None
        slug = team or (document["team"] if document else None)
        teams = Team.objects.filter(slug=slug) if slug else Team.objects.order_by("slug")
        if slug and not teams.exists():
            raise CommandError(f"No team {slug!r}.")
        if document and slug != document["team"]:
            raise CommandError(f"The checkpoint is for team {document['team']!r}, not {slug!r}.")
        failed = []
        for each in teams:
            result = services.ledger_verify(team=each)
            problem = result.problem
            if problem is None and document:
                problem = services.checkpoint_compare(team=each, document=document)
            if problem is None:
                self.stdout.write(
                    f"{each.slug}: ok, {result.entries} entries, {result.links} links, "
                    f"head {result.head}"
                )
            else:
                failed.append(each.slug)
                self.stderr.write(f"{each.slug}: {problem.kind}: {problem.detail}")
        if failed:
            raise CommandError(f"The ledger of {', '.join(failed)} failed verification.")

    def _checkpoint(self, path: Path, public_key: str | None) -> dict:
        try:
            document = json.loads(path.read_text())
            key = base64.b64decode(public_key, validate=True) if public_key else None
            return services.checkpoint_read(document, key)
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot read the checkpoint {path}: {exc}") from None
        except services.CheckpointError as exc:
            raise CommandError(str(exc)) from None
