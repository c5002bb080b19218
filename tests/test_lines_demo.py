"""The demo's image line: "Acme web base" with three versions, Globex and Initech subscribed,
`stable` one behind `latest`, the oldest deprecated with a date; gina sees them in Incoming."""

import io

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from builtin_cloud.seed import GLOBEX, INITECH
from sharing.cloud import http as cloud_http
from sharing.models import Action, LedgerEntry, Line, VersionState


@pytest.fixture
def demo(db, settings, tmp_path):
    settings.DEMO = True
    settings.FAKE_CLOUD_DB = str(tmp_path / "cloud.sqlite3")
    from sharing.clouds import demo_cloud, use_builtin_cloud

    demo_cloud.cache_clear()
    factory = cloud_http.session_factory
    use_builtin_cloud(demo_cloud())
    try:
        call_command("seed_demo", stdout=io.StringIO())
        yield demo_cloud().state
    finally:
        demo_cloud.cache_clear()
        cloud_http.session_factory = factory


def test_the_demo_line_has_three_versions_two_subscribers_and_its_channels(demo):
    line = Line.objects.get(team__slug="acme", slug="web-base")
    versions = {v.number: v for v in line.versions.all()}
    assert sorted(versions) == [1, 2, 3]
    assert versions[1].state == VersionState.DEPRECATED and versions[1].revoke_on
    assert versions[1].replacement == versions[3]
    channels = dict(line.channels.values_list("name", "version__number"))
    assert channels == {"latest": 3, "stable": 2}
    subscribed = set(line.subscribers.filter(removed_at=None).values_list("tenant", flat=True))
    assert subscribed == {GLOBEX, INITECH}
    assert demo.image(versions[1].image_id).extra["image_line_state"] == "deprecated"
    assert demo.member_status(versions[3].image_id, INITECH) == "pending"


def test_seeding_the_line_again_changes_nothing(demo):
    entries = LedgerEntry.objects.count()
    call_command("seed_demo", stdout=io.StringIO())
    line = Line.objects.get(slug="web-base")
    assert line.versions.count() == 3
    assert LedgerEntry.objects.filter(action=Action.PUBLISH).count() == 3
    assert LedgerEntry.objects.count() == entries


def test_gina_sees_the_line_versions_in_incoming(demo, client):
    client.force_login(User.objects.get(username="gina"))
    page = client.get("/t/globex/incoming/?region=IAD").content.decode()
    for name in ("Acme web base 2026.10", "Acme web base 2026.11", "Acme web base 2026.12"):
        assert name in page


def test_ginas_rules_accepted_the_active_versions_and_reported_initechs_image(demo, client):
    from builtin_cloud.seed import WEB_BASE_VERSIONS, seed_image_id

    v1, v2, v3 = (seed_image_id("IAD", "100001", name) for name in WEB_BASE_VERSIONS)
    assert [demo.member_status(v, GLOBEX) for v in (v1, v2, v3)] == [
        "pending",
        "accepted",
        "accepted",
    ]  # fmt: skip  (v1 is deprecated: no rule accepts it)
    reports = seed_image_id("IAD", INITECH, "Initech TPS report server")
    assert demo.member_status(reports, GLOBEX) == "pending"
    globex = LedgerEntry.objects.filter(team__slug="globex")
    accepted = globex.filter(action=Action.ACCEPT, actor_name="system")
    assert sorted(accepted.values_list("image_id", flat=True)) == sorted([v2, v3])
    [audit] = globex.filter(action=Action.RULE_AUDIT)
    assert audit.image_id == reports
    client.force_login(User.objects.get(username="gina"))
    page = client.get("/t/globex/incoming/rules/").content.decode()
    assert "Trust rule would accept" in page and "web-base" in page
