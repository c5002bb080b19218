"""Management commands: seed_demo, connect_cloud (over a real socket), fakecloud's wiring."""

import io
import subprocess
import sys

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from builtin_cloud import CloudState, FakeCloudApp, running_server, seed_demo_cloud
from sharing.cloud import http as cloud_http
from sharing.clouds import client_for
from sharing.models import LedgerEntry, Membership, Partner, Share, Team
from sharing.webhooks.models import Endpoint

from .conftest import ROOT


@pytest.fixture
def socket_cloud():
    state = CloudState(":memory:")
    seed_demo_cloud(state)
    with running_server(FakeCloudApp(state, "http://placeholder")) as base_url:
        yield base_url


def connect(*args, secret="demo-api-key", monkeypatch=None):
    monkeypatch.setenv("CLOUD_SECRET", secret)
    out = io.StringIO()
    call_command("connect_cloud", *args, stdout=out)
    return out.getvalue()


def test_connect_cloud_with_a_rackspace_api_key_creates_the_team(db, socket_cloud, monkeypatch):
    out = connect(
        "globex", "--auth", "rackspace-apikey", "--identity-url", f"{socket_cloud}/identity",
        "--username", "globex-admin", "--region", "iad", "--name", "Globex",
        monkeypatch=monkeypatch,
    )  # fmt: skip
    assert "Connected team globex to tenant 100002" in out
    team = Team.objects.get(slug="globex")
    assert (team.name, team.tenant_id, team.default_region) == ("Globex", "100002", "IAD")
    assert team.regions == ["DFW", "IAD", "ORD"]
    assert team.get_secret() == "demo-api-key"
    assert "demo-api-key" not in team.secret_encrypted
    # The stored account really works.
    assert client_for(team, "IAD").list_images(limit=1).items is not None


def test_connect_cloud_with_keystone_password_and_project(db, socket_cloud, monkeypatch):
    out = connect(
        "acme", "--auth", "keystone-password", "--identity-url", f"{socket_cloud}/identity",
        "--username", "acme-admin", "--project", "100001", "--region", "DFW",
        secret="demo-cloud-password", monkeypatch=monkeypatch,
    )  # fmt: skip
    assert "tenant 100001" in out
    team = Team.objects.get(slug="acme")
    assert (team.auth_kind, team.tenant_format, team.default_region) == (
        "keystone-password",
        "rackspace",  # the format follows the tenant ID learned: digits here
        "DFW",
    )


def test_connect_cloud_with_an_application_credential(db, socket_cloud, monkeypatch):
    out = connect(
        "acme", "--auth", "keystone-appcred", "--identity-url", f"{socket_cloud}/identity",
        "--username", "acme-appcred", "--region", "IAD",
        secret="demo-appcred-secret", monkeypatch=monkeypatch,
    )  # fmt: skip
    assert "tenant 100001" in out


def test_wrong_credentials_give_one_clear_line_and_store_nothing(db, socket_cloud, monkeypatch):
    with pytest.raises(CommandError) as error:
        connect(
            "acme", "--auth", "rackspace-apikey", "--identity-url", f"{socket_cloud}/identity",
            "--username", "acme-admin", "--region", "IAD", secret="wrong",
            monkeypatch=monkeypatch,
        )  # fmt: skip
    message = str(error.value)
    assert "rejected the credentials" in message
    assert "\n" not in message
    assert not Team.objects.exists()


def test_an_unknown_region_names_the_ones_found(db, socket_cloud, monkeypatch):
    with pytest.raises(CommandError, match=r"no image endpoint in region SYD \(found: DFW, IAD"):
        connect(
            "acme", "--auth", "rackspace-apikey", "--identity-url", f"{socket_cloud}/identity",
            "--username", "acme-admin", "--region", "SYD", monkeypatch=monkeypatch,
        )  # fmt: skip


def test_an_unreachable_identity_url_is_one_line(db, monkeypatch):
    with pytest.raises(CommandError) as error:
        connect(
            "acme", "--auth", "rackspace-apikey", "--identity-url", "http://127.0.0.1:9/identity",
            "--username", "acme-admin", "--region", "IAD", monkeypatch=monkeypatch,
        )  # fmt: skip
    assert "\n" not in str(error.value)


def test_seed_demo_refuses_without_demo(db, settings):
    settings.DEMO = False
    with pytest.raises(CommandError, match="DEMO=1"):
        call_command("seed_demo")


def test_seed_demo_is_idempotent_and_its_users_log_in(db, settings, tmp_path):
    settings.DEMO = True
    settings.FAKE_CLOUD_DB = str(tmp_path / "cloud.sqlite3")
    from sharing.clouds import demo_cloud, use_builtin_cloud

    demo_cloud.cache_clear()
    factory = cloud_http.session_factory
    use_builtin_cloud(demo_cloud())
    try:
        call_command("seed_demo", stdout=io.StringIO())
        call_command("seed_demo", stdout=io.StringIO())
        state = demo_cloud().state
        images_once = len(state.images("IAD"))
    finally:
        demo_cloud.cache_clear()
        cloud_http.session_factory = factory
    assert sorted(Team.objects.values_list("slug", "tenant_id")) == [
        ("acme", "100001"),
        ("globex", "100002"),
    ]
    roles = set(Membership.objects.values_list("team__slug", "user__username", "role"))
    assert roles == {
        ("acme", "alice", "admin"),
        ("acme", "bob", "member"),
        ("acme", "carol", "viewer"),
        ("acme", "audrey", "auditor"),
        ("globex", "gina", "admin"),
    }
    # One webhook endpoint, at the address `manage.py webhook_receiver` listens on.
    assert list(Endpoint.objects.values_list("team__slug", "url")) == [
        ("acme", "http://127.0.0.1:8001/hook")
    ]
    login = RequestFactory().post("/accounts/login/")  # django-axes needs the request
    assert authenticate(login, username="alice", password=settings.DEMO_PASSWORD) is not None
    assert authenticate(login, username="gina", password=settings.DEMO_PASSWORD) is not None
    assert images_once > 0
    assert dict(Partner.objects.filter(team__slug="acme").values_list("tenant", "name")) == {
        "100002": "Globex",
        "100003": "Initech",
    }
    # The members shared before the dashboard are recorded once (a drift each), not twice.
    # The demo's image line shares its versions through the dashboard: those are no drifts.
    # Globex's trust rule accepting two of the line's versions is a status drift on Acme's side.
    drifts = LedgerEntry.objects.filter(action="drift")
    outside = Share.objects.exclude(
        image_id__in=LedgerEntry.objects.filter(line__isnull=False).values("image_id")
    )
    assert drifts.filter(drift="added").count() == outside.count() > 0
    assert drifts.filter(drift="status").count() == 2
    unlined = LedgerEntry.objects.exclude(action="drift").filter(line__isnull=True)
    assert set(unlined.values_list("team__slug", "action")) == {
        ("globex", "rule_create"), ("globex", "accept"), ("globex", "rule_audit"),
    }  # fmt: skip
    assert Share.objects.filter(team__slug="globex", tenant="100001").exists()
    # Globex has a share to answer.
    assert Share.objects.filter(team__slug="acme", tenant="100002", status="pending").exists()


def test_the_demo_process_reaches_the_built_in_cloud(tmp_path):
    """A fresh process with DEMO=1: migrate, seed, and list acme's images in-process."""
    env = {
        "DEMO": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
        "FAKE_CLOUD_DB": f"{tmp_path}/cloud.sqlite3",
        "CACHE_URL": "locmemcache://",
        "PATH": "/usr/bin:/bin",
    }
    script = (
        "import django; django.setup()\n"
        "from django.core.management import call_command\n"
        "call_command('migrate', verbosity=0); call_command('seed_demo')\n"
        "from sharing.models import Team; from sharing.clouds import client_for\n"
        "page = client_for(Team.objects.get(slug='acme'), 'IAD').list_images(owner='100001')\n"
        "print(len(page.items), 'images')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "sharing.settings"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.split()[-2]) >= 8
