"""In a real headless Chromium: single sign-on through the real provider (tests/oidc), and a
passkey added and used as the second factor, with Chromium's virtual authenticator (CDP)."""

import pytest

from sharing.models import Membership, Role

from . import sso_provider
from .conftest import log_in, skip_without_chromium

pytestmark = [pytest.mark.browser, skip_without_chromium]


def test_sso_alice_signs_in_with_example_sso_lands_on_her_team_and_signs_out_of_both(
    transactional_db, page, live_server, settings, cloud, team
):
    with sso_provider.running(live_server.url) as provider:
        sso_provider.use(settings, provider)
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_role("button", name="Sign in with Example SSO").click()
        page.get_by_label("Username").fill("sso-alice")
        page.get_by_label("Password").fill("demo-password")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_server.url}/t/acme/images/**")
        assert Membership.objects.get(user__username="sso-alice", team=team).role == Role.ADMIN

        page.locator("summary", has_text="sso-alice").click()
        page.get_by_role("button", name="Log out").click()
        page.get_by_role("link", name="Also sign out of Example SSO").click()
        page.get_by_role("button", name="Yes, sign me out").click()
        page.wait_for_url(f"{live_server.url}/accounts/login/")


def test_alice_adds_a_passkey_and_it_opens_a_team_that_requires_a_second_factor(
    transactional_db, page, live_server, settings, cloud, alice, team
):
    settings.MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = True  # http://localhost
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    options = {"protocol": "ctap2", "transport": "internal", "hasResidentKey": True}
    options |= {"hasUserVerification": True, "isUserVerified": True}
    options |= {"automaticPresenceSimulation": True}
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})

    log_in(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/accounts/2fa/webauthn/add/")
    page.get_by_label("Password").fill("correct horse battery")  # allauth asks again first
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(f"{live_server.url}/accounts/2fa/webauthn/add/")
    page.get_by_label("Name").fill("Laptop passkey")
    page.get_by_role("button", name="Add").click()
    page.wait_for_url(lambda url: "/webauthn/add/" not in url)
    assert alice.authenticator_set.filter(type="webauthn").exists()

    team.second_factor_required = True
    team.save()
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/accounts/2fa/authenticate/")
    page.get_by_role("button", name="Use a security key").click()
    page.wait_for_url(f"{live_server.url}/t/acme/images/**")
