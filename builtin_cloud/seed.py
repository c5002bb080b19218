"""Demo data for the built-in cloud. Safe to run again: nothing changes the second time."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from .state import CloudState

DEMO_API_KEY = "demo-api-key"
DEMO_PASSWORD = "demo-cloud-password"
PROVIDER, ACME, GLOBEX, INITECH = "100000", "100001", "100002", "100003"
# Fixed ids (uuid5 of region, owner and name) make the seed idempotent.
_NAMESPACE = uuid.UUID("3f1d6a0e-8d8b-4a47-b2a4-5c0b9f6e2a11")
_EPOCH = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
_ACME_SHARED = (
    "Ubuntu 24.04 web base",
    "Debian 12 app server",
    "Windows Server 2022 build agent",
    "Rocky Linux 9 database",
    "Alpine 3.20 edge proxy",
    "CentOS Stream 9 CI runner",
    "Fedora 41 workstation",
    "Ubuntu 22.04 legacy API",
    "<script>alert(1)</script>",  # must be shown escaped
    "本番ウェブサーバー",  # "production web server": non-ASCII names
)
# The image line "Acme web base": monthly builds that carry the property a pipeline sets.
WEB_BASE_LINE = "web-base"
WEB_BASE_VERSIONS = ("Acme web base 2026.10", "Acme web base 2026.11", "Acme web base 2026.12")
# Shares made before the dashboard (so they show as "outside the dashboard"); the first images
# of the list stay unshared, for a first share in the demo.
_ACME_SHARES = {
    "Windows Server 2022 build agent": {GLOBEX: "accepted", INITECH: "pending"},
    "Rocky Linux 9 database": {INITECH: "rejected"},
}


def seed_image_id(region: str, owner: str, name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{region}/{owner}/{name}"))


def seed_demo_cloud(state: CloudState) -> None:
    """Three customer accounts and a provider, with images and shares in IAD and DFW."""
    _accounts(state)
    seeder = _Seeder(state)
    for name in _ACME_SHARED:
        seeder.image(ACME, name, members=_ACME_SHARES.get(name), image_type="snapshot")
    seeder.image(ACME, "Nightly build (uploading)", status="queued", size=None)
    # Nova creates server snapshots `private`: sharing one needs a PATCH to `shared` first.
    seeder.image(ACME, "web-01 snapshot 2026-11-20", visibility="private", image_type="snapshot")
    limit = max(state.member_limit, 0)
    seeder.image(
        ACME,
        "Partner golden image (member limit reached)",
        members={str(2000000 + i): ("accepted", "pending")[i % 2] for i in range(limit)},
    )
    for name in WEB_BASE_VERSIONS:
        seeder.image(ACME, name, image_line=WEB_BASE_LINE)
    seeder.image(GLOBEX, "Globex analytics appliance", members={ACME: "pending"})
    seeder.image(INITECH, "Initech TPS report server", members={ACME: "accepted"})
    seeder.image(PROVIDER, "Ubuntu 24.04 LTS (PVHVM)", visibility="public", image_type="base")
    seeder.image(PROVIDER, "Debian 12 (Bookworm) (PVHVM)", visibility="public", image_type="base")
    seeder.image(ACME, "Ubuntu 24.04 web base", region="DFW")
    seeder.image(ACME, "Debian 12 app server", region="DFW", members={GLOBEX: "accepted"})
    seeder.image(GLOBEX, "Globex DFW build runner", region="DFW", members={ACME: "accepted"})


def _accounts(state: CloudState) -> None:
    state.add_account(PROVIDER, "Cloud provider")
    state.add_user(
        "provider-admin",
        PROVIDER,
        password=DEMO_PASSWORD,
        api_key=DEMO_API_KEY,
        roles=("admin", "member", "reader"),
    )
    for tenant_id, name in ((ACME, "Acme"), (GLOBEX, "Globex"), (INITECH, "Initech")):
        state.add_account(tenant_id, name)
        state.add_user(
            f"{name.lower()}-admin", tenant_id, password=DEMO_PASSWORD, api_key=DEMO_API_KEY
        )
    state.add_app_credential("acme-appcred", "demo-appcred-secret", "acme-admin")


class _Seeder:
    """Creates each image once, with its members; images that exist are left alone."""

    def __init__(self, state: CloudState) -> None:
        self.state = state
        self.count = 0

    def image(
        self,
        owner: str,
        name: str,
        *,
        region: str = "IAD",
        members: dict[str, str] | None = None,
        **fields: Any,
    ) -> None:
        image_id = seed_image_id(region, owner, name)
        self.count += 1  # spaced creation times give a stable, readable order
        if self.state.image(image_id):
            return
        with self.state.transaction():
            self.state.create_image(
                owner=owner,
                region=region,
                name=name,
                visibility=fields.pop("visibility", "shared"),
                image_id=image_id,
                created_at=_EPOCH + timedelta(hours=self.count),
                **fields,
            )
            for member_id, status in (members or {}).items():
                self.state.add_member(image_id, member_id, status)
