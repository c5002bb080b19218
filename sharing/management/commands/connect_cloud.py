import getpass
import os

from django.core.management.base import BaseCommand, CommandError
from django.utils.text import slugify

from sharing.cloud import CloudError
from sharing.cloud.identity import CloudAccount, authenticate
from sharing.cloud.images import ImagesClient
from sharing.cloud.tenants import validate_tenant_id
from sharing.models import AuthKind, Team, TenantFormat


class Command(BaseCommand):
    help = (
        "Check a cloud account by authenticating and listing images, then store it for a team "
        "(created if new). The secret comes from CLOUD_SECRET or a prompt."
    )

    def add_arguments(self, parser):
        parser.add_argument("team", help="The team's slug.")
        parser.add_argument("--auth", required=True, choices=AuthKind.values)
        parser.add_argument("--identity-url", required=True)
        parser.add_argument(
            "--username", required=True, help="For an application credential: its ID."
        )
        parser.add_argument("--region", required=True, help="The team's default region.")
        parser.add_argument("--project", default="", help="Keystone: project name or ID.")
        parser.add_argument("--domain", default="Default", help="Keystone: user/project domain.")
        parser.add_argument("--name", help="The team's display name (new teams).")

    def handle(self, *args, **options):
        secret = os.environ.get("CLOUD_SECRET") or getpass.getpass("Cloud secret: ")
        if not secret:
            raise CommandError("No secret: set CLOUD_SECRET or type it at the prompt.")
        account = CloudAccount(
            auth_kind=options["auth"],
            identity_url=options["identity_url"].rstrip("/"),
            username=options["username"],
            secret=secret,
            project=options["project"],
            domain=options["domain"],
        )
        region = options["region"].upper()
        try:
            auth = authenticate(account)
            if region not in auth.regions:
                found = ", ".join(auth.regions) or "none"
                raise CommandError(
                    f"The catalog has no image endpoint in region {region} (found: {found})."
                )
            ImagesClient(account, region).list_images(limit=1)
        except CloudError as error:
            raise CommandError(str(error)) from None

        team = self._store(options, account, auth, region)
        self.stdout.write(
            self.style.SUCCESS(
                f"Connected team {team.slug} to tenant {auth.tenant_id}; "
                f"regions {', '.join(auth.regions)} (default {region})."
            )
        )

    def _store(self, options, account: CloudAccount, auth, region: str) -> Team:
        slug = slugify(options["team"])
        team = Team.objects.filter(slug=slug).first() or Team(
            slug=slug, name=options["name"] or display_name(options["team"])
        )
        team.auth_kind = account.auth_kind
        team.identity_url = account.identity_url
        team.username = account.username
        team.project = account.project
        team.domain = account.domain
        team.tenant_id = auth.tenant_id
        team.regions = sorted(auth.regions)
        team.default_region = region
        if team._state.adding:
            team.tenant_format = _tenant_format_like(auth.tenant_id)
        team.set_secret(account.secret)
        team.full_clean()
        team.save()
        return team


def _tenant_format_like(tenant_id: str) -> str:
    """Other accounts' IDs look like ours: digits on Rackspace, 32 hex on most Keystones."""
    for fmt in (TenantFormat.RACKSPACE, TenantFormat.KEYSTONE):
        try:
            validate_tenant_id(tenant_id, fmt)
        except ValueError:
            continue
        return fmt
    return TenantFormat.FREE


def display_name(typed: str) -> str:
    """A name for a new team from what was typed as its slug: "acme-corp" → "Acme Corp"."""
    words = typed.replace("-", " ").replace("_", " ").split()
    return " ".join(word if not word.islower() else word.capitalize() for word in words) or typed
