"""Single sign-on against a real OpenID Connect provider started on loopback (tests/oidc)."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import User

from sharing.models import Action, LedgerEntry, Membership, Role
from sharing.settings import sso_providers

from . import sso_provider
from .conftest import PASSWORD
from .sso_provider import authorize, callback, sign_in


@pytest.fixture(scope="module")
def provider():
    with sso_provider.running("http://testserver") as running:
        yield running


@pytest.fixture
def sso(settings, provider, team, cloud):
    sso_provider.use(settings, provider)
    provider.set_user("sso-alice", "demo-password", ["img-acme-admin"])
    return provider


def signed_in_user(client) -> User | None:
    response = client.get("/")
    user = response.wsgi_request.user
    return user if user.is_authenticated else None


def test_the_first_sign_in_creates_the_user_with_the_role_its_group_names(client, sso):
    response = sign_in(client)
    assert response.status_code == 302
    user = User.objects.get(username="sso-alice")
    assert Membership.objects.get(user=user, team__slug="acme").role == Role.ADMIN
    assert client.get("/", follow=True).redirect_chain[-1][0] == "/t/acme/images/"


def test_the_authorization_request_carries_pkce_state_and_nonce(client, sso):
    start = client.post("/accounts/sso/login/")
    query = parse_qs(urlsplit(start["Location"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["state"][0] and query["nonce"][0]
    assert "groups" in query["scope"][0].split()


def test_a_role_removed_at_the_provider_is_removed_at_the_next_sign_in(client, sso, team):
    sign_in(client)
    user = User.objects.get(username="sso-alice")
    sso.set_user("sso-alice", "demo-password", ["img-acme-viewer"])
    client.logout()
    sign_in(client)
    assert Membership.objects.get(user=user, team=team).role == Role.VIEWER
    sso.set_user("sso-alice", "demo-password", ["unrelated-group"])
    client.logout()
    sign_in(client)
    assert not Membership.objects.filter(user=user).exists()
    notes = list(
        LedgerEntry.objects.filter(team=team, action=Action.ROLE_CHANGE)
        .order_by("pk")
        .values_list("note", flat=True)
    )
    assert [note.split(",")[0] for note in notes] == [
        "sso-alice: no role → admin",
        "sso-alice: admin → viewer",
        "sso-alice: viewer → no role",
    ]


def test_no_matching_group_signs_in_to_a_page_that_says_whom_to_ask(client, settings, sso):
    settings.OIDC_HELP_CONTACT = "it-help@example.com"
    sso.set_user("sso-alice", "demo-password", ["staff"])
    sign_in(client)
    page = client.get("/")
    assert "not in a team yet" in page.text
    assert "it-help@example.com" in page.text and "img-" in page.text


@pytest.mark.parametrize(
    "spoil", ["bad-signature", "wrong-audience", "expired", "wrong-issuer", "wrong-nonce"]
)
def test_an_id_token_that_fails_a_check_signs_no_one_in(client, sso, spoil):
    sso.spoil_next_id_token(spoil)
    response = sign_in(client)
    assert response.status_code == 401
    assert "Sign-in failed" in response.text
    assert signed_in_user(client) is None
    assert not User.objects.filter(username="sso-alice").exists()


def test_a_replayed_state_is_refused(client, sso):
    url = authorize(client)
    assert callback(client, url).status_code == 302
    client.logout()
    replayed = callback(client, url)
    assert "Sign-in failed" in replayed.text
    assert signed_in_user(client) is None


def test_an_issuer_that_names_itself_differently_is_refused(client, settings, sso):
    settings.OIDC_ISSUER = sso.issuer.replace("127.0.0.1", "localhost")
    response = sign_in(client)
    assert "Sign-in failed" in response.text
    assert signed_in_user(client) is None


def test_a_team_that_asks_for_a_second_factor_leaves_it_to_the_provider(client, sso, team):
    team.second_factor_required = True
    team.save()
    sign_in(client)
    assert client.get("/t/acme/images/").status_code == 200


def test_the_login_page_offers_the_provider_by_its_name(client, sso):
    assert "Sign in with Example SSO" in client.get("/accounts/login/").text


def test_logging_out_ends_the_session_and_offers_the_providers_logout(client, sso):
    sign_in(client)
    response = client.post("/accounts/logout/")
    assert f'href="{sso.issuer}/session/end?client_id=dashboard' in response.text
    assert "Also sign out of Example SSO" in response.text
    assert signed_in_user(client) is None


def test_with_password_login_off_only_superusers_use_passwords(client, settings, sso, alice):
    settings.PASSWORD_LOGIN = False
    form = {"login": "alice", "password": PASSWORD}
    assert "not correct" in client.post("/accounts/login/", form).text
    alice.is_superuser = True
    alice.save()
    assert client.post("/accounts/login/", form).status_code == 302


def test_a_provider_that_does_not_answer_shows_a_page_not_an_error(client, settings, sso):
    settings.SOCIALACCOUNT_PROVIDERS = sso_providers("http://127.0.0.1:9", "dashboard", "x", "SSO")
    response = client.post("/accounts/sso/login/")
    assert response.status_code == 503
    assert "does not answer" in response.text


def test_the_login_page_lets_its_form_lead_to_the_provider_and_nowhere_else(client, sso):
    policy = client.get("/accounts/login/")["Content-Security-Policy"]
    assert f"form-action 'self' {sso.issuer}" in policy
    assert "form-action 'self'" in client.get("/healthz")["Content-Security-Policy"]


def test_someone_who_came_through_sso_cannot_sign_in_with_a_password(client, sso):
    sign_in(client)
    client.logout()
    user = User.objects.get(username="sso-alice")
    user.set_password(PASSWORD)  # e.g. through a password reset
    user.save()
    response = client.post("/accounts/login/", {"login": "sso-alice", "password": PASSWORD})
    assert "not correct" in response.text
    assert signed_in_user(client) is None
