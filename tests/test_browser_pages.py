"""In a real headless Chromium, on a 390×844 phone: no page scrolls sideways and axe-core finds
no serious or critical violation, with and without a message shown; the day picked for "share
until" is the day shown in Berlin and Chicago; the images list and the image pages agree on
member counts; a slow share says what it does and cannot be sent twice.

axe-core comes from the `axe-playwright-python` package (requirements-dev.txt), which ships its
axe.min.js; it is evaluated in the page, so the pages' CSP does not stand in the way.
"""

import io
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.http import HttpRequest

from sharing.models import Partner, Share, Team

from .conftest import CHROMIUM, GLOBEX, INITECH, acme_image, log_in, skip_without_chromium

pytestmark = [pytest.mark.browser, skip_without_chromium]

PHONE = {"width": 390, "height": 844}
SERIOUS = {"serious", "critical"}


@pytest.fixture(scope="module")
def browser():
    """One Chromium for the module; each test opens its own contexts."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop for as long as the browser lives; Django's ORM
    # refuses to run inside one unless told (the database teardown of each test included).
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def axe_source() -> str:
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()


def new_page(browser, **options):
    context = browser.new_context(**options)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def with_message(page, base_url: str) -> None:
    """Make the next page show a message, as after any action: a signed messages cookie."""
    from django.contrib.messages import constants
    from django.contrib.messages.storage.base import Message
    from django.contrib.messages.storage.cookie import CookieStorage

    value = CookieStorage(HttpRequest())._encode(
        [Message(constants.SUCCESS, "Shared with Globex 100002: pending until they accept.")]
    )
    page.context.add_cookies([{"name": "messages", "value": value, "url": base_url}])


def problems(page, axe_source: str) -> list[str]:
    """What is wrong with the page on this screen: sideways scrolling, serious axe findings."""
    found = []
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    if widths[0] > widths[1]:
        found.append(f"{page.url} is {widths[0]} px wide on a {widths[1]} px screen")
    page.evaluate(axe_source)
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    for violation in results["violations"]:
        if violation["impact"] in SERIOUS:
            targets = [node["target"] for node in violation["nodes"]][:3]
            found.append(f"{page.url}: {violation['id']} ({violation['impact']}) at {targets}")
    return found


def seed_pages(cloud, team, alice, bob):
    """Everything the pages show: shares in and out, a full image, requests, a request link."""
    Partner.objects.create(team=team, tenant=GLOBEX, name="Globex", notes="Hosting partner")
    Partner.objects.create(team=team, tenant=INITECH, name="Initech")
    web = acme_image(cloud, name="Ubuntu 24.04 web base")
    private = acme_image(cloud, name="web-01 snapshot", visibility="private")
    full = acme_image(cloud, name="Partner golden image (member limit reached)")
    for n in range(cloud.member_limit):
        cloud.add_member(full, str(2000000 + n), ("accepted", "pending")[n % 2])
    cloud.add_member(web, INITECH, "accepted")
    incoming = cloud.create_image(owner=GLOBEX, region="IAD", name="Globex analytics appliance")
    cloud.add_member(incoming["id"], team.tenant_id)
    from sharing import services

    services.image_share(
        team=team, actor=alice, region="IAD", image_id=web, tenants=[GLOBEX], note="pilot"
    )
    asked = services.access_request_create(
        team=team, region="IAD", image_id=web, tenant="100004",
        justification="Staging for the partner portal, three months.", requested_by=bob,
    )  # fmt: skip
    services.request_link_rotate(team=team)
    team.refresh_from_db()
    team.request_link_images = [web]
    team.save()
    outside = services.access_request_create(
        team=team, region="IAD", image_id=web, tenant="100005", justification="Evaluation",
        requester_name="Olga", requester_email="olga@example.com", via_link=True,
    )  # fmt: skip
    return {"web": web, "private": private, "full": full, "request": asked, "outside": outside}


def test_no_page_scrolls_sideways_on_a_phone_and_axe_finds_nothing_serious(
    browser, axe_source, live_server, cloud, team, alice, bob, transactional_db
):
    seen = seed_pages(cloud, team, alice, bob)
    base = live_server.url
    page = new_page(browser, viewport=PHONE)
    found = []

    def check(url: str) -> None:
        for message in (False, True):
            if message:
                with_message(page, base)
            page.goto(base + url)
            if message:
                assert page.locator(".messages").is_visible(), url
            found.extend(problems(page, axe_source))

    # Logged out: the login page, the public request form and its status page.
    check("/accounts/login/")
    check(f"/r/{team.request_link_token}/")
    check(f"/r/status/{seen['outside'].status_token}/")

    log_in(page, base, "alice")
    for url in [
        "/t/acme/images/",
        f"/t/acme/images/{seen['web']}/",
        f"/t/acme/images/{seen['full']}/",
        "/t/acme/requests/",
        f"/t/acme/requests/{seen['request'].pk}/",
        "/t/acme/requests/new/",
        "/t/acme/history/",
        "/t/acme/partners/",
        "/t/acme/settings/",
        "/t/acme/incoming/",
    ]:
        check(url)

    # The share confirmation of a private image (a POST's answer), with a message too.
    for message in (False, True):
        page.goto(f"{base}/t/acme/images/{seen['private']}/")
        page.get_by_label("Tenant IDs").fill(GLOBEX)
        if message:
            with_message(page, base)
        page.get_by_role("button", name="Share").click()
        page.get_by_role("button", name="Make shared, then share").wait_for()
        found.extend(problems(page, axe_source))

    # The image at the limit offers no share form.
    page.goto(f"{base}/t/acme/images/{seen['full']}/")
    assert page.get_by_text("Limit reached: revoke a member first").is_visible()
    assert page.get_by_role("button", name="Share").is_disabled()
    # The request's decision comes before its timeline on a phone.
    page.goto(f"{base}/t/acme/requests/{seen['request'].pk}/")
    approve = page.get_by_role("button", name="Approve").bounding_box()
    timeline = page.get_by_role("heading", name="Timeline").bounding_box()
    assert approve["y"] < timeline["y"]
    # The images list shows "Shared with" on the phone's screen.
    page.goto(f"{base}/t/acme/images/")
    header = page.get_by_role("columnheader", name="Shared with").bounding_box()
    assert header["x"] + header["width"] <= PHONE["width"]
    page.context.close()
    assert found == []


@pytest.mark.parametrize(
    ("team_zone", "browser_zone"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("America/Chicago", "America/Chicago"),
        ("Europe/Berlin", "America/Chicago"),  # a colleague abroad sees the same day
    ],
)
def test_the_day_picked_is_the_day_shown_in_the_browsers_time_zone(
    browser, live_server, cloud, alice, team, transactional_db, team_zone, browser_zone
):
    team.time_zone = team_zone
    team.save()
    image_id = acme_image(cloud, name="Debian 12 app server")
    page = new_page(browser, timezone_id=browser_zone, locale="en-US")
    log_in(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/t/acme/images/{image_id}/")
    page.get_by_label("Tenant IDs").fill(GLOBEX)
    page.get_by_label("Share until").fill("2027-01-01")
    page.get_by_role("button", name="Share").click()
    row = page.get_by_role("row").filter(has_text=GLOBEX)
    assert row.get_by_text("until 1 Jan 2027").is_visible()
    ends = Share.objects.get(tenant=GLOBEX).expires_at.astimezone(ZoneInfo(team_zone))
    assert (ends.date().isoformat(), ends.hour, ends.minute) == ("2027-01-01", 23, 59)
    page.context.close()


def test_the_images_list_and_each_image_page_agree_on_member_counts(
    browser, live_server, cloud, alice, team, transactional_db
):
    ours = acme_image(cloud, name="shared here and outside")
    outside = acme_image(cloud, name="shared outside only")
    acme_image(cloud, name="not shared")
    for tenant in (GLOBEX, INITECH):
        cloud.add_member(outside, tenant)
    cloud.add_member(ours, INITECH, "accepted")
    page = new_page(browser)
    log_in(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/t/acme/images/{ours}/")
    page.get_by_label("Tenant IDs").fill(GLOBEX)
    page.get_by_role("button", name="Share").click()
    page.get_by_role("status").wait_for()
    call_command("sync_shares", stdout=io.StringIO())
    assert Team.objects.get().last_synced_at is not None

    page.goto(f"{live_server.url}/t/acme/images/")
    listed = {}
    for row in page.locator("table.images tbody tr").all():
        link = row.get_by_role("link")
        listed[link.get_attribute("href")] = int(
            row.locator("[data-members]").get_attribute("data-members")
        )
    assert len(listed) == 3
    for href, count in listed.items():
        page.goto(live_server.url + href)
        shown = page.locator("[data-member-count]")
        on_page = int(shown.get_attribute("data-member-count")) if shown.count() else 0
        assert (href, on_page) == (href, count)
    assert sorted(listed.values()) == [0, 2, 2]
    page.context.close()


def test_a_share_disables_its_button_says_what_it_does_and_is_sent_once(
    browser, live_server, cloud, alice, transactional_db
):
    from playwright.sync_api import expect

    image_id = acme_image(cloud, name="slow one")
    tenants = [str(100010 + n) for n in range(5)]
    page = new_page(browser)
    log_in(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/t/acme/images/{image_id}/")
    page.get_by_label("Tenant IDs").fill(", ".join(tenants))
    # The server's answer is "204 No Content", so the page stays as it was while waiting (as on
    # a very slow cloud), to be looked at; every submit is counted.
    posts = []

    def hold(route):
        posts.append(route.request.url)
        route.fulfill(status=204)

    page.route("**/share/**", hold)
    button = page.get_by_role("button", name="Share")
    button.click()
    expect(page.get_by_text("Sharing with 5 tenants…")).to_be_visible()
    expect(button).to_be_disabled()
    page.locator("form[data-busy]").evaluate("form => form.requestSubmit()")  # a second try
    page.wait_for_timeout(200)
    assert len(posts) == 1
    assert cloud.members(image_id) == []
    page.context.close()


def test_the_incoming_lines_and_the_rules_fit_a_phone_and_axe_finds_nothing_serious(
    browser, axe_source, live_server, cloud, team, alice, transactional_db
):
    from sharing import services

    Partner.objects.create(team=team, tenant=INITECH, name="Initech")
    versions = []
    for number, state in ((1, "deprecated"), (2, "active"), (3, "active")):
        versions.append(
            cloud.create_image(
                owner=INITECH, region="IAD", name=f"Initech TPS base 2026.{9 + number}",
                image_line="tps-base-with-a-rather-long-slug", image_line_version=str(number),
                image_line_state=state, provided_until="2027-01-31" if number == 1 else "",
            )["id"]
        )  # fmt: skip
        cloud.add_member(versions[-1], team.tenant_id)
    plain = cloud.create_image(owner=GLOBEX, region="IAD", name="Globex analytics appliance")
    cloud.add_member(plain["id"], team.tenant_id, "rejected")
    services.trust_rule_create(
        team=team, actor=alice, owner=INITECH, line="tps-base-with-a-rather-long-slug",
        mode="enforce",
    )  # fmt: skip
    services.trust_rule_create(team=team, actor=alice, owner=GLOBEX, mode="audit")
    services.team_reconcile(team=team)
    base = live_server.url
    page = new_page(browser, viewport=PHONE)
    log_in(page, base, "alice")
    found = []
    for url in ("/t/acme/incoming/", "/t/acme/incoming/rules/"):
        for message in (False, True):
            if message:
                with_message(page, base)
            page.goto(base + url)
            found.extend(problems(page, axe_source))
    page.goto(f"{base}/t/acme/incoming/")
    assert page.get_by_text("“Reject” hides an image from this team's image lists").is_visible()
    heading = page.get_by_role("heading", name="Line tps-base-with-a-rather-long-slug")
    assert heading.is_visible()
    # The rule accepted v2 and v3; v1 is deprecated and still waits, its Accept on screen.
    accept = page.get_by_role("button", name="Accept Initech TPS base 2026.10")
    box = accept.bounding_box()
    assert box["x"] + box["width"] <= PHONE["width"]
    assert page.get_by_text("revoked on 2027-01-31").is_visible()
    page.context.close()
    assert found == []
