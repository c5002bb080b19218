from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError

from sharing.cloud.fake import seed_demo_cloud
from sharing.clouds import demo_cloud
from sharing.models import AuthKind, Membership, Partner, Role, Team, TenantFormat

DEMO_USERS = [("alice", Role.ADMIN), ("bob", Role.MEMBER), ("carol", Role.VIEWER)]
DEMO_PARTNERS = [
    ("100002", "Globex", "Hosting partner; shares its CRM appliance with us."),
    ("100003", "Initech", "Customer since 2024."),
]


class Command(BaseCommand):
    help = "Fill the built-in cloud and create team acme with alice, bob and carol (DEMO only)."

    def handle(self, *args, **options):
        if not settings.DEMO:
            raise CommandError("seed_demo only runs with DEMO=1: it creates known passwords.")
        seed_demo_cloud(demo_cloud().state)
        team = self._team()
        for username, role in DEMO_USERS:
            user, _ = User.objects.get_or_create(
                username=username, defaults={"email": f"{username}@acme.example"}
            )
            user.set_password(settings.DEMO_PASSWORD)
            user.save()
            Membership.objects.update_or_create(user=user, team=team, defaults={"role": role})
        for tenant, name, notes in DEMO_PARTNERS:
            Partner.objects.get_or_create(
                team=team, tenant=tenant, defaults={"name": name, "notes": notes}
            )
        self.stdout.write(
            self.style.SUCCESS(
                "Demo ready: team acme; users alice (admin), bob (member), carol (viewer)."
            )
        )

    def _team(self) -> Team:
        team, created = Team.objects.get_or_create(
            slug="acme",
            defaults={
                "name": "Acme",
                "auth_kind": AuthKind.RACKSPACE_APIKEY,
                "identity_url": f"{settings.FAKE_CLOUD_URL}/identity",
                "username": "acme-admin",
                "tenant_id": "100001",
                "regions": ["IAD", "DFW", "ORD"],
                "default_region": "IAD",
                "tenant_format": TenantFormat.RACKSPACE,
            },
        )
        if created:
            team.set_secret("demo-api-key")
            team.save()
        return team
