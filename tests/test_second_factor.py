"""A second factor for local passwords (django-allauth's TOTP and recovery codes), and a team
setting that requires it for the team's pages."""

import pytest
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)

from sharing.models import Team

from .conftest import PASSWORD


@pytest.fixture
def strict(team):
    team.second_factor_required = True
    team.save()
    return team


def current_code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))


def log_in(client, username: str = "alice"):
    return client.post("/accounts/login/", {"login": username, "password": PASSWORD})


def test_an_admin_makes_the_team_require_a_second_factor(client, alice, cloud):
    client.force_login(alice)
    form = {"approval_policy": "members", "max_share_days": "90", "request_expiry_days": "7"}
    form |= {"reminder_days": "2", "time_zone": "UTC", "second_factor_required": "on"}
    response = client.post("/t/acme/settings/", form, follow=True)
    assert "Team settings saved" in response.text
    assert Team.objects.get(slug="acme").second_factor_required


def test_without_an_authenticator_the_team_pages_send_you_to_add_one(client, alice, strict):
    log_in(client)
    response = client.get("/t/acme/images/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/?next=")
    page = client.get(response["Location"])
    assert "asks for a second factor" in page.text


def test_a_team_without_the_setting_opens_with_a_password_alone(client, alice, team, cloud):
    log_in(client)
    assert client.get("/t/acme/images/").status_code == 200


def test_a_password_then_an_authenticator_code_opens_the_team_pages(client, alice, strict, cloud):
    secret = generate_totp_secret()
    TOTP.activate(alice, secret)
    response = log_in(client)
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/t/acme/images/").status_code == 302  # not signed in yet
    response = client.post("/accounts/2fa/authenticate/", {"code": current_code(secret)})
    assert response.status_code == 302
    assert client.get("/t/acme/images/").status_code == 200


def test_a_wrong_code_signs_no_one_in(client, alice, strict):
    TOTP.activate(alice, generate_totp_secret())
    log_in(client)
    response = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert response.status_code == 200 and "Incorrect code" in response.text
    assert not client.get("/").wsgi_request.user.is_authenticated


def test_a_recovery_code_stands_in_for_the_authenticator_once(client, alice, strict, cloud):
    TOTP.activate(alice, generate_totp_secret())
    code = RecoveryCodes.activate(alice).get_unused_codes()[0]
    log_in(client)
    client.post("/accounts/2fa/authenticate/", {"code": code})
    assert client.get("/t/acme/images/").status_code == 200
    client.logout()
    log_in(client)
    client.post("/accounts/2fa/authenticate/", {"code": code})
    assert not client.get("/").wsgi_request.user.is_authenticated


def test_a_session_from_before_the_authenticator_confirms_it_first(client, alice, strict):
    log_in(client)
    TOTP.activate(alice, generate_totp_secret())
    response = client.get("/t/acme/images/")
    assert response["Location"].startswith("/accounts/2fa/reauthenticate/?next=")


def test_the_admin_log_in_page_sends_people_to_the_one_that_asks_for_the_second_factor(client, db):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_password_session_outlives_closing_the_browser_as_before(client, alice):
    assert 'name="remember"' not in client.get("/accounts/login/").text
    log_in(client)
    assert not client.session.get_expire_at_browser_close()
