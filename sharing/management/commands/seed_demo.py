from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from builtin_cloud import seed_demo_cloud
from builtin_cloud.seed import (
    ACME,
    GLOBEX,
    INITECH,
    WEB_BASE_LINE,
    WEB_BASE_VERSIONS,
    seed_image_id,
)
from sharing import services
from sharing.clouds import demo_cloud
from sharing.models import (
    AuthKind,
    Line,
    Membership,
    Partner,
    Role,
    RuleMode,
    Team,
    TenantFormat,
    VersionState,
)
from sharing.webhooks.events import EVENT_TYPES
from sharing.webhooks.management.commands.webhook_receiver import DEMO_PORT
from sharing.webhooks.models import Endpoint
from sharing.webhooks.services import endpoint_create

# (slug, name, tenant, cloud user, [(username, role)], [(partner tenant, name, notes)])
DEMO_TEAMS = [
    (
        "acme", "Acme", "100001", "acme-admin",
        [
            ("alice", Role.ADMIN), ("bob", Role.MEMBER), ("carol", Role.VIEWER),
            ("audrey", Role.AUDITOR),
        ],
        [
            ("100002", "Globex", "Hosting partner; shares its CRM appliance with us."),
            ("100003", "Initech", "Customer since 2024."),
        ],
    ),
    # The consumer side: Globex receives Acme's images and shares its own with Acme.
    (
        "globex", "Globex", "100002", "globex-admin",
        [("gina", Role.ADMIN)],
        [("100001", "Acme", "Image supplier; we share our analytics appliance with them.")],
    ),
]  # fmt: skip
DEMO_USERS = [user for team in DEMO_TEAMS for user in team[4]]


class Command(BaseCommand):
    help = (
        "Fill the built-in cloud and create teams acme (alice, bob, carol, audrey) and globex "
        "(gina), DEMO only."
    )

    def handle(self, *args, **options):
        if not settings.DEMO:
            raise CommandError("seed_demo only runs with DEMO=1: it creates known passwords.")
        state = demo_cloud().state
        seed_demo_cloud(state)
        # One share waiting for Globex's answer, so gina can accept or reject it.
        waiting = seed_image_id("IAD", ACME, "Debian 12 app server")
        if state.member_status(waiting, GLOBEX) is None:
            state.add_member(waiting, GLOBEX, "pending")
        # And one from Initech, which gina's audit rule only reports.
        reports = seed_image_id("IAD", INITECH, "Initech TPS report server")
        if state.member_status(reports, GLOBEX) is None:
            state.add_member(reports, GLOBEX, "pending")
        for slug, name, tenant_id, cloud_user, users, partners in DEMO_TEAMS:
            team = self._team(slug, name, tenant_id, cloud_user)
            for username, role in users:
                user, _ = User.objects.get_or_create(
                    username=username, defaults={"email": f"{username}@{slug}.example"}
                )
                user.set_password(settings.DEMO_PASSWORD)
                user.save()
                Membership.objects.update_or_create(user=user, team=team, defaults={"role": role})
            for tenant, partner, notes in partners:
                Partner.objects.get_or_create(
                    team=team, tenant=tenant, defaults={"name": partner, "notes": notes}
                )
            # Record the members shared before the dashboard, so every count is true at once.
            services.team_reconcile(team=team)
            if slug == "acme":
                self._webhook(team)
        _web_base_line(Team.objects.get(slug="acme"))
        _globex_rules(Team.objects.get(slug="globex"))
        # Acme's records learn Globex's answers now, not as news on the next seed.
        services.team_reconcile(team=Team.objects.get(slug="acme"))
        self.stdout.write(
            self.style.SUCCESS(
                "Demo ready: team acme with alice (admin), bob (member), carol (viewer), "
                "audrey (auditor); "
                "team globex with gina (admin)."
            )
        )

    def _webhook(self, team: Team) -> None:
        """An endpoint for every event, at `manage.py webhook_receiver`'s address."""
        url = f"http://127.0.0.1:{DEMO_PORT}/hook"
        if not Endpoint.objects.filter(team=team, url=url).exists():
            endpoint_create(team=team, actor=None, url=url, event_types=list(EVENT_TYPES))

    def _team(self, slug: str, name: str, tenant_id: str, cloud_user: str) -> Team:
        team, created = Team.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "auth_kind": AuthKind.RACKSPACE_APIKEY,
                "identity_url": f"{settings.FAKE_CLOUD_URL}/identity",
                "username": cloud_user,
                "tenant_id": tenant_id,
                "regions": ["IAD", "DFW", "ORD"],
                "default_region": "IAD",
                "tenant_format": TenantFormat.RACKSPACE,
            },
        )
        if created:
            team.set_secret("demo-api-key")
            team.save()
        return team


def _web_base_line(team: Team) -> None:
    """The line "Acme web base": three versions published to Globex and Initech, `stable` one
    behind `latest`, the oldest deprecated with a date. Each step only once."""
    alice = User.objects.get(username="alice")
    line = Line.objects.filter(team=team, slug=WEB_BASE_LINE).first() or services.line_create(
        team=team, actor=alice, name="Acme web base", slug=WEB_BASE_LINE, region="IAD",
        description="The monthly hardened Ubuntu base for web servers.", grace_days=30,
    )  # fmt: skip
    for tenant in (GLOBEX, INITECH):
        if not line.subscribers.filter(tenant=tenant, removed_at=None).exists():
            services.subscriber_add(line=line, actor=alice, tenant=tenant)
    ids = [seed_image_id("IAD", ACME, name) for name in WEB_BASE_VERSIONS]
    for image_id in ids:
        services.line_publish(line=line, actor=alice, image_id=image_id)
    if not line.channels.filter(name="stable").exists():
        services.channel_move(
            line=line, actor=alice, name="stable", image_id=ids[1], note="Soaked for a month."
        )
    oldest = line.versions.get(image_id=ids[0])
    if oldest.state == VersionState.ACTIVE:
        services.version_deprecate(
            version=oldest, actor=alice, replacement_image_id=ids[2],
            revoke_on=timezone.localdate(timezone=team.zone) + timedelta(days=30),
            note="Superseded by the December build.",
        )  # fmt: skip


def _globex_rules(team: Team) -> None:
    """gina trusts Acme's web base line (enforce) and watches Initech (audit); the sync then
    accepts the line's active versions (not the deprecated one) and reports Initech's image.
    Each rule only once."""
    gina = User.objects.get(username="gina")
    for owner, line, mode in (
        (ACME, WEB_BASE_LINE, RuleMode.ENFORCE),
        (INITECH, "", RuleMode.AUDIT),
    ):
        if not team.trust_rules.filter(owner=owner, line=line).exists():
            services.trust_rule_create(team=team, actor=gina, owner=owner, line=line, mode=mode)
    services.team_reconcile(team=team)
