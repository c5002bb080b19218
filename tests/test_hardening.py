"""What a careless operator or a hostile cloud could do: bad input never reaches a server error,
no setting stops a job, and production settings pass Django's own deploy checks."""

import csv
import io
import os
import sqlite3
import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from sharing.models import AccessRequest, LedgerEntry, Share, Team
from sharing.services import ledger_attempt
from sharing.tasks import enforce_time_limits

from .conftest import GLOBEX, INITECH, PASSWORD, ROOT, acme_image

RLO = "\u202e"


def test_a_request_for_an_image_named_with_a_line_break_mails_a_one_line_subject(
    client, cloud, alice, bob
):
    image = acme_image(cloud, name="evil\r\nBcc: victim@example.com")
    client.force_login(bob)
    response = client.post(
        "/t/acme/requests/new/?region=IAD",
        {"image_id": image, "member": INITECH, "justification": "pilot"},
    )
    assert response.status_code == 302
    assert AccessRequest.objects.get().image_name == "evil\r\nBcc: victim@example.com"
    (message,) = mail.outbox
    assert message.subject == "[Acme] Access requested: evil Bcc: victim@example.com for 100003"
    assert message.message()["Bcc"] is None


@pytest.mark.parametrize("path", ["/t/acme/history/", "/t/acme/history.csv"])
def test_the_last_day_of_the_calendar_is_a_valid_end_date(client, alice, team, path):
    entry = ledger_attempt(team=team, actor=alice, action="share", tenant=GLOBEX)
    client.force_login(alice)
    response = client.get(path, {"until": "9999-12-31"})
    assert response.status_code == 200
    if path.endswith(".csv"):
        assert str(entry.pk) in b"".join(response.streaming_content).decode()
    else:
        assert [e.pk for e in response.context["entries"]] == [entry.pk]


def test_a_year_before_1900_is_explained_next_to_the_field(client, alice, team):
    client.force_login(alice)
    response = client.get("/t/acme/history/", {"since": "0001-01-01"})
    assert response.status_code == 200
    assert "Pick a date from 1900 on." in response.text


@pytest.mark.parametrize("before", ["²", "٣", "99999999999999999999999", "-1", "1e3"])
def test_a_history_cursor_that_is_not_an_entry_id_shows_the_first_page(client, alice, team, before):
    entry = ledger_attempt(team=team, actor=alice, action="share", tenant=GLOBEX)
    client.force_login(alice)
    response = client.get("/t/acme/history/", {"before": before})
    assert response.status_code == 200
    assert [e.pk for e in response.context["entries"]] == [entry.pk]


@pytest.mark.parametrize("partner", ["99999999999999999999999", "²", "-1"])
def test_a_partner_id_the_database_cannot_hold_is_a_form_error(client, cloud, alice, partner):
    image = acme_image(cloud)
    client.force_login(alice)
    response = client.post(
        f"/t/acme/images/{image}/share/?region=IAD", {"members": GLOBEX, "partners": partner}
    )
    assert response.status_code == 200
    assert "is not a valid value" in str(response.context["form"].errors["partners"])
    assert not LedgerEntry.objects.exists()
    assert cloud.member_status(image, GLOBEX) is None


@pytest.mark.parametrize("field", ["reminder_days", "request_expiry_days", "max_share_days"])
def test_a_team_setting_beyond_ten_years_is_refused_by_the_form_and_the_model(
    client, alice, team, cloud, field
):
    client.force_login(alice)
    data = {
        "approval_policy": "members",
        "max_share_days": "365",
        "request_expiry_days": "14",
        "reminder_days": "3",
        field: "1000000000",
    }
    response = client.post("/t/acme/settings/", data)
    assert response.status_code == 200
    assert "less than or equal to 3650" in response.text
    team.refresh_from_db()
    assert getattr(team, field) != 1000000000
    setattr(team, field, 1000000000)
    with pytest.raises(Exception, match="less than or equal to 3650"):
        team.full_clean()


# Background jobs: one team's failure is logged and reported; the others go on.


@pytest.fixture
def broken_team(db):
    """Sorted first (by name), with a value saved before the bounds existed."""
    broken = Team.objects.create(
        name="Aardvark", slug="aardvark", identity_url=f"{settings.FAKE_CLOUD_URL}/identity"
    )
    Team.objects.filter(pk=broken.pk).update(reminder_days=10**9, request_expiry_days=10**9)
    return broken


@pytest.fixture
def expired_share(client, alice, cloud):
    image = acme_image(cloud)
    client.force_login(alice)
    end = (timezone.localdate() + timedelta(days=7)).isoformat()
    client.post(f"/t/acme/images/{image}/share/?region=IAD", {"members": GLOBEX, "expires_at": end})
    share = Share.objects.get()
    Share.objects.filter(pk=share.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    return share


def test_expire_shares_goes_on_after_a_team_fails_and_says_which_one(
    broken_team, expired_share, cloud, caplog
):
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="Time limits failed for aardvark"):
        call_command("expire_shares", stdout=out, stderr=err)
    assert "aardvark: failed: OverflowError" in err.getvalue()
    assert "acme: 1 share(s) revoked" in out.getvalue()
    assert cloud.member_status(expired_share.image_id, GLOBEX) is None
    assert "Background work failed for team aardvark" in caplog.text


def test_sync_shares_goes_on_after_a_team_fails(db, team, cloud):
    broken = Team.objects.create(
        name="Aardvark", slug="aardvark", identity_url=f"{settings.FAKE_CLOUD_URL}/identity"
    )
    Team.objects.filter(pk=broken.pk).update(secret_encrypted="not a token")  # key lost
    broken.refresh_from_db()
    ledger_attempt(team=broken, actor=None, action="share", tenant=GLOBEX, image_id="img-1")
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="Reconciling failed for aardvark"):
        call_command("sync_shares", "--settle-after", "0", stdout=out, stderr=err)
    assert "aardvark: failed:" in err.getvalue()
    assert "acme:" in out.getvalue()


def test_the_hourly_task_reports_a_failed_team_and_still_schedules_the_next_run(
    broken_team, expired_share, cloud, settings
):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    report = enforce_time_limits.call()  # the worker's run, in this process
    assert report["aardvark"].startswith("failed: OverflowError")
    assert "1 share(s) revoked" in report["acme"]
    waiting = DBTaskResult.objects.get(task_path=enforce_time_limits.module_path)
    assert waiting.run_after > timezone.now() + timedelta(minutes=59)


# Regions keep the catalog's spelling.


def test_a_region_typed_in_another_case_is_the_catalogs_region(db):
    team = Team(name="Ops", slug="ops", regions=["RegionOne", "IAD"], default_region="regionone")
    team.full_clean()
    assert team.default_region == "RegionOne"
    assert team.region_or_default("REGIONONE") == "RegionOne"
    assert team.region_or_default("iad") == "IAD"
    assert team.region_or_default("nowhere") == "RegionOne"


def test_connect_cloud_stores_the_catalogs_spelling_of_a_keystone_region(db, monkeypatch):
    from builtin_cloud import CloudState, FakeCloudApp, running_server, seed_demo_cloud

    state = CloudState(":memory:")
    seed_demo_cloud(state)
    app = FakeCloudApp(state, "http://placeholder", regions=("RegionOne", "RegionTwo"))
    monkeypatch.setenv("CLOUD_SECRET", "demo-cloud-password")
    with running_server(app) as base_url:
        call_command(
            "connect_cloud", "ops", "--auth", "keystone-password",
            "--identity-url", f"{base_url}/identity", "--username", "acme-admin",
            "--project", "100001", "--region", "REGIONONE", stdout=io.StringIO(),
        )  # fmt: skip
    team = Team.objects.get(slug="ops")
    assert (team.default_region, team.regions) == ("RegionOne", ["RegionOne", "RegionTwo"])


# Exports and pages: text from outside.


def test_a_csv_cell_with_whitespace_before_a_formula_is_defused(client, alice, team):
    ledger_attempt(
        team=team, actor=alice, action="share", tenant=GLOBEX,
        note=" =HYPERLINK(1)", image_name="\n@SUM(1)",
    )  # fmt: skip
    client.force_login(alice)
    body = b"".join(client.get("/t/acme/history.csv").streaming_content).decode()
    row = next(r for r in csv.DictReader(io.StringIO(body)) if r["action"] == "share")
    assert (row["note"], row["image_name"]) == ("' =HYPERLINK(1)", "'\n@SUM(1)")


def test_an_image_name_with_a_right_to_left_override_is_isolated(client, cloud, alice, bob):
    name = f"web{RLO}esab"
    image = acme_image(cloud, name=name)
    client.force_login(bob)
    client.post(
        "/t/acme/requests/new/?region=IAD",
        {"image_id": image, "member": INITECH, "justification": "pilot"},
    )
    filed = AccessRequest.objects.get()
    client.force_login(alice)
    pages = [
        "/t/acme/images/",
        f"/t/acme/images/{image}/",
        "/t/acme/requests/",
        f"/t/acme/requests/{filed.pk}/",
        "/t/acme/history/",
    ]
    for page in pages:
        html = client.get(page).text
        assert name in html, page
        assert html.count(f"<bdi>{name}</bdi>") == html.count(name) - html.count(
            f"<title>{name}"
        ), page


# Log-in throttling (django-axes).


def log_in(client, password, address="192.0.2.10"):
    return client.post(
        "/accounts/login/", {"login": "alice", "password": password}, REMOTE_ADDR=address
    )


def test_wrong_passwords_lock_the_user_out_from_that_address_with_a_clear_message(client, alice):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, "wrong").status_code == 200
    locked = log_in(client, "wrong")
    assert locked.status_code == 429
    assert "Too many wrong passwords" in locked.text
    assert "locked for 30 minutes" in locked.text
    assert log_in(client, PASSWORD).status_code == 429  # even the right one, for now
    assert log_in(client, PASSWORD, address="192.0.2.99").status_code == 302  # elsewhere: fine


def test_an_admin_unlocks_a_locked_out_user(client, alice):
    from axes.models import AccessAttempt

    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "wrong")
    assert log_in(client, PASSWORD).status_code == 429
    User.objects.create_superuser("root", "root@example.com", PASSWORD)
    admin = client.__class__()
    admin.force_login(User.objects.get(username="root"))
    attempt = AccessAttempt.objects.get(username="alice")
    response = admin.post(
        "/admin/axes/accessattempt/",
        {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert log_in(client, PASSWORD).status_code == 302


def test_a_right_password_resets_the_count(client, alice):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, "wrong")
    assert log_in(client, PASSWORD).status_code == 302
    client.logout()
    assert log_in(client, "wrong").status_code == 200


# Production configuration, as the README gives it.

README_PRODUCTION = {
    "SECRET_KEY": "a-production-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "ALLOWED_HOSTS": "dashboard.example.com",
    "DATABASE_URL": "postgres://dashboard:secret@db.example.com:5432/dashboard",
    "CACHE_URL": "dbcache://sharing_cache",
    "EMAIL_URL": "smtp+tls://dashboard:secret@smtp.example.com:587",
    "CREDENTIALS_KEY": "n0rKcWpBOyxPjGlpDyb7gbzGb8sAfc3WWG0kT3m8lJk=",
    "LEDGER_SIGNING_KEY": "Vk9WkEf0pPu0RX8yJ9vIb1MG3Pa0vE2C4GchZy9a8Vs=",
    "HTTPS": "1",
}


def manage(*args, **env):
    """manage.py in a clean environment: only what is given, no test settings."""
    clean = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **env}
    clean["DJANGO_SETTINGS_MODULE"] = "sharing.settings"
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_readmes_production_settings_pass_the_deploy_check():
    done = manage("check", "--deploy", "--fail-level", "WARNING", **README_PRODUCTION)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_production_without_email_url_stops_at_start_naming_it():
    env = {k: v for k, v in README_PRODUCTION.items() if k != "EMAIL_URL"}
    done = manage("check", **env)
    assert done.returncode != 0
    assert "EMAIL_URL is required" in done.stderr


def test_migrate_alone_makes_the_cache_table(tmp_path):
    database = tmp_path / "fresh.sqlite3"
    env = {**README_PRODUCTION, "DATABASE_URL": f"sqlite:///{database}", "HTTPS": "0"}
    done = manage("migrate", "--no-input", **env)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(database) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert "sharing_cache" in tables


def test_database_connections_persist_with_health_checks_by_default():
    code = (
        "from sharing.settings import DATABASES as d; "
        "print(d['default']['CONN_MAX_AGE'], d['default']['CONN_HEALTH_CHECKS'])"
    )
    clean = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT, env={**clean, **README_PRODUCTION}, capture_output=True, text=True,
    )  # fmt: skip
    assert done.stdout.split() == ["600", "True"], done.stderr


# What PostgreSQL refuses: NUL in text, values longer than a column.


def test_a_user_name_longer_than_any_is_refused_by_the_form_not_a_500(client, alice):
    response = client.post("/accounts/login/", {"login": "x" * 3000, "password": "wrong"})
    assert response.status_code == 200
    assert "at most 150 characters" in response.text


def test_a_team_switch_to_a_name_that_is_no_slug_goes_to_the_first_team(client, alice):
    client.force_login(alice)
    response = client.get("/", {"team": "acme\x00"})
    assert response["Location"] == "/t/acme/images/"


def test_an_image_name_with_a_nul_is_stored_with_a_replacement_character(client, cloud, alice, bob):
    image = acme_image(cloud, name="web\x00base")
    client.force_login(bob)
    client.post(
        "/t/acme/requests/new/?region=IAD",
        {"image_id": image, "member": INITECH, "justification": "pilot"},
    )
    assert AccessRequest.objects.get().image_name == "web\ufffdbase"


def test_an_incoming_images_name_in_a_message_is_escaped_and_isolated(client, cloud, alice):
    from .conftest import ACME

    name = f"<b>crm</b>{RLO}"
    offered = cloud.create_image(owner=GLOBEX, region="IAD", name=name)["id"]
    cloud.add_member(offered, ACME)
    client.force_login(alice)
    response = client.post(f"/t/acme/incoming/{offered}/accept/?region=IAD", follow=True)
    assert f"“<bdi>&lt;b&gt;crm&lt;/b&gt;{RLO}</bdi>” is now accepted" in response.text
