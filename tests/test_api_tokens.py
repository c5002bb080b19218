"""Tokens: made on the team's page (any role) or by create_api_token, stored as a digest,
shown once, revocable; expired, revoked and unknown tokens get 401; each token is throttled."""

import io
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from sharing.models import ApiToken

from .api import ApiClient, token_for

IMAGES = "/api/v1/teams/acme/images/"


def test_a_viewer_makes_a_token_that_is_shown_once_and_stored_as_a_digest(client, carol, cloud):
    client.force_login(carol)
    response = client.post("/t/acme/settings/tokens/", {"name": "portal"})
    assert response.status_code == 200
    secret = response.context["secret"]
    assert secret.startswith("isd_") and len(secret) > 40
    assert secret in response.text
    assert "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get()
    assert (token.user, token.team.slug, token.name) == (carol, "acme", "portal")
    assert secret[:12] == token.prefix
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM sharing_apitoken")
        assert not any(secret in str(value) for value in cursor.fetchone())
    listed = client.get("/t/acme/settings/tokens/")
    assert "portal" in listed.text and f"{token.prefix}…" in listed.text
    assert secret not in listed.text
    assert ApiClient(secret).get(IMAGES).status_code == 200


def test_a_token_with_an_end_date_stops_working_after_it(client, alice, team, cloud):
    client.force_login(alice)
    day = timezone.localdate() + timedelta(days=10)
    response = client.post("/t/acme/settings/tokens/", {"name": "ci", "expires_at": day})
    secret = response.context["secret"]
    token = ApiToken.objects.get()
    assert token.expires_at.date() == day
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = ApiClient(secret).get(IMAGES)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("zone", ["America/Los_Angeles", "Asia/Tokyo"])
def test_a_token_works_to_the_end_of_its_last_day_in_the_teams_time_zone(
    client, alice, team, cloud, monkeypatch, zone
):
    team.time_zone = zone
    team.save()
    client.force_login(alice)
    day = team.today() + timedelta(days=10)
    response = client.post("/t/acme/settings/tokens/", {"name": "ci", "expires_at": day})
    api = ApiClient(response.context["secret"])
    assert f"until {day.day} {day:%b %Y}</time>" in response.text  # the day picked, as listed
    last_minute = datetime.combine(day, time(23, 59), ZoneInfo(zone))

    monkeypatch.setattr(timezone, "now", lambda: last_minute)
    assert api.get(IMAGES).status_code == 200
    monkeypatch.setattr(timezone, "now", lambda: last_minute + timedelta(minutes=2))
    assert api.get(IMAGES).status_code == 401


def test_the_last_day_of_a_token_is_after_today_in_the_teams_time_zone(
    client, alice, team, monkeypatch
):
    team.time_zone = "Asia/Tokyo"
    team.save()
    # 20:00 UTC is already the next day in Tokyo: that day is today there, so it is refused.
    evening = datetime.combine(timezone.localdate(), time(20), ZoneInfo("UTC"))
    monkeypatch.setattr(timezone, "now", lambda: evening)
    client.force_login(alice)
    tomorrow_here = evening.date() + timedelta(days=1)
    response = client.post("/t/acme/settings/tokens/", {"name": "ci", "expires_at": tomorrow_here})
    assert response.context["form"].errors["expires_at"] == ["Pick a day after today."]


def test_an_end_date_in_the_past_is_refused(client, alice):
    client.force_login(alice)
    response = client.post("/t/acme/settings/tokens/", {"name": "ci", "expires_at": "2001-01-01"})
    assert response.context["form"].errors["expires_at"]
    assert not ApiToken.objects.exists()


def test_a_revoked_token_gets_401(client, alice, team, cloud):
    secret = token_for(alice, team)
    api = ApiClient(secret)
    assert api.get(IMAGES).status_code == 200
    client.force_login(alice)
    token = ApiToken.objects.get()
    response = client.post(f"/t/acme/settings/tokens/{token.pk}/revoke/", follow=True)
    assert "revoked" in response.text
    assert api.get(IMAGES).status_code == 401


def test_nobody_revokes_someone_elses_token(client, alice, bob, team):
    token_for(alice, team)
    client.force_login(bob)
    token = ApiToken.objects.get()
    assert client.post(f"/t/acme/settings/tokens/{token.pk}/revoke/").status_code == 404
    assert ApiToken.objects.get().revoked_at is None


def test_the_page_lists_only_ones_own_tokens_and_is_404_for_outsiders(client, alice, bob, dave):
    token_for(alice, alice.memberships.get().team, "alice-ci")
    client.force_login(bob)
    assert "alice-ci" not in client.get("/t/acme/settings/tokens/").text
    client.force_login(dave)
    assert client.get("/t/acme/settings/tokens/").status_code == 404


def test_the_user_menu_links_to_the_tokens_page(client, carol, cloud):
    client.force_login(carol)
    assert 'href="/t/acme/settings/tokens/"' in client.get("/t/acme/images/").text


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer nonsense", "Bearer isd_unknown", "Basic YWxpY2U6cHc=", "Token isd_x"],
)
def test_a_missing_or_unknown_token_is_401(header, team, cloud):
    headers = {"Authorization": header} if header else {}
    response = ApiClient(None).get(IMAGES, **headers)
    assert response.status_code == 401
    assert response.json()["title"] == "Unauthorized"


def test_a_token_of_a_deactivated_user_gets_401(alice, team, cloud):
    secret = token_for(alice, team)
    alice.is_active = False
    alice.save()
    assert ApiClient(secret).get(IMAGES).status_code == 401


def test_the_last_use_is_recorded(alice, team, cloud):
    secret = token_for(alice, team)
    assert ApiToken.objects.get().last_used_at is None
    ApiClient(secret).get(IMAGES)
    assert ApiToken.objects.get().last_used_at is not None


def test_each_token_is_throttled_on_its_own(alice, team, cloud, settings):
    settings.API_RATE_PER_TOKEN = "3/m"
    busy, calm = ApiClient(token_for(alice, team, "busy")), ApiClient(token_for(alice, team))
    assert [busy.get(IMAGES).status_code for _ in range(3)] == [200, 200, 200]
    response = busy.get(IMAGES)
    assert response.status_code == 429
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert calm.get(IMAGES).status_code == 200


def test_create_api_token_prints_the_token_as_its_last_line(alice, team, cloud):
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_token", "acme", "alice", "--name", "packer", stdout=out, stderr=err)
    secret = out.getvalue().strip().splitlines()[-1]
    assert ApiToken.objects.get().name == "packer"
    assert ApiClient(secret).get(IMAGES).status_code == 200


@pytest.mark.parametrize(
    ("team_slug", "username", "message"),
    [("nope", "alice", "No team"), ("acme", "nobody", "No user"), ("acme", "dave", "not a member")],
)
def test_create_api_token_refuses_unknown_teams_users_and_outsiders(
    alice, dave, team, team_slug, username, message
):
    with pytest.raises(CommandError, match=message):
        call_command("create_api_token", team_slug, username, stdout=io.StringIO())
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("value", ["lots", "0/m", "10/week"])
def test_a_bad_rate_stops_start_up_naming_the_variable(value):
    from .test_settings import PRODUCTION, load_settings

    result = load_settings(**{**PRODUCTION, "API_RATE_PER_TOKEN": value})
    assert result.returncode != 0
    assert "API_RATE_PER_TOKEN" in result.stderr.splitlines()[-1]


def test_a_browser_session_is_no_api_credential(client, alice, team, cloud):
    client.force_login(alice)
    response = client.get(IMAGES)
    assert response.status_code == 401


def test_a_token_needs_no_csrf_token(alice, team, cloud):
    from django.test import Client

    api = Client(
        enforce_csrf_checks=True, headers={"Authorization": f"Bearer {token_for(alice, team)}"}
    )
    response = api.post(
        "/api/v1/teams/acme/requests/", {"image_id": "x"}, content_type="application/json"
    )
    assert response.status_code == 400  # validated, not refused for CSRF


def test_a_token_may_last_to_the_calendars_end_for_a_team_west_of_utc(client, alice, team):
    team.time_zone = "America/Los_Angeles"
    team.save()
    client.force_login(alice)
    response = client.post("/t/acme/settings/tokens/", {"name": "ci", "expires_at": "9999-12-31"})
    assert response.status_code == 200 and response.context["secret"]
    assert ApiToken.objects.get().expires_at.year == 9999
