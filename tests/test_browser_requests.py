"""In a real headless Chromium: bob asks for access, alice approves, the member appears
upstream, and bob sees the decision."""

import pytest

from sharing.models import AccessRequest

from .conftest import INITECH, acme_image, log_in, skip_without_chromium

pytestmark = [pytest.mark.browser, skip_without_chromium]


def test_bob_requests_alice_approves_and_bob_sees_the_decision(
    page, live_server, cloud, alice, bob, transactional_db
):
    image_id = acme_image(cloud, name="Debian 12 app server")
    log_in(page, live_server.url, "bob")
    page.get_by_role("link", name="Debian 12 app server").click()
    page.get_by_role("link", name="Request access").click()
    assert page.get_by_label("Image").input_value() == image_id
    page.get_by_label("Tenant").fill(INITECH)
    page.get_by_label("Justification").fill("Initech pilot for 7 days")
    page.get_by_role("button", name="Request access").click()
    assert page.get_by_role("status").get_by_text("sent to the team's admins").is_visible()
    request_url = page.url
    assert page.get_by_role("button", name="Approve").count() == 0

    log_in(page, live_server.url, "alice")
    page.get_by_role("link", name="Requests").click()
    # Ids are not reset between tests on PostgreSQL: find the request by its own number.
    page.get_by_role("link", name=f"#{AccessRequest.objects.get().pk}").click()
    page.get_by_label("Note").first.fill("OK for the pilot")
    page.get_by_role("button", name="Approve").click()
    assert page.get_by_role("status").get_by_text(f"shared with {INITECH}").is_visible()
    assert cloud.member_status(image_id, INITECH) == "pending"

    log_in(page, live_server.url, "bob")
    page.goto(request_url)
    assert page.get_by_text("Approved", exact=True).first.is_visible()
    assert page.get_by_text("OK for the pilot").first.is_visible()
