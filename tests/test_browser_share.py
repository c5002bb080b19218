"""In a real headless Chromium: alice shares an image, sees it pending, revokes it, and finds
both in the history."""

import pytest

from .conftest import GLOBEX, acme_image, log_in, skip_without_chromium

pytestmark = [pytest.mark.browser, skip_without_chromium]


def test_alice_shares_sees_it_pending_revokes_and_finds_both_in_the_history(
    page, live_server, cloud, alice, transactional_db
):
    image_id = acme_image(cloud, name="Ubuntu 24.04 web base")
    log_in(page, live_server.url, "alice")
    page.wait_for_url("**/t/acme/images/")

    page.get_by_role("link", name="Ubuntu 24.04 web base").click()
    page.get_by_label("Tenant IDs").fill(GLOBEX)
    page.get_by_label("Note").fill("Globex pilot")
    page.get_by_role("button", name="Share").click()

    assert page.get_by_role("status").get_by_text(f"Shared with {GLOBEX}").is_visible()
    row = page.get_by_role("row").filter(has_text=GLOBEX)
    assert row.get_by_text("pending").is_visible()
    assert cloud.member_status(image_id, GLOBEX) == "pending"

    page.once("dialog", lambda dialog: dialog.accept())  # the confirmation before revoking
    row.get_by_role("button", name="Revoke").click()
    assert page.get_by_role("status").get_by_text("Revoked").is_visible()
    assert cloud.member_status(image_id, GLOBEX) is None

    page.get_by_role("link", name="History", exact=True).click()
    table = page.locator("table")
    assert table.get_by_text("Share", exact=True).is_visible()
    assert table.get_by_text("Revoke", exact=True).first.is_visible()
    assert table.get_by_text("Succeeded").count() == 2


def test_a_cancelled_confirmation_revokes_nothing(
    page, live_server, cloud, alice, transactional_db
):
    image_id = acme_image(cloud, name="keep me")
    cloud.add_member(image_id, GLOBEX)
    log_in(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/t/acme/images/{image_id}/")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Revoke").click()
    page.wait_for_timeout(300)
    assert cloud.member_status(image_id, GLOBEX) == "pending"
