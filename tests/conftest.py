"""The shared cast: a team `acme` with an admin, a member and a viewer, and an outsider."""

import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache

from sharing import clouds
from sharing.cloud import http as cloud_http
from sharing.cloud.fake import CloudState, FakeCloudApp
from sharing.cloud.identity import memory_cache
from sharing.models import AuthKind, Membership, Role, Team

PASSWORD = "correct horse battery"
ROOT = Path(__file__).resolve().parent.parent


def make_user(username: str) -> User:
    return User.objects.create_user(username, f"{username}@example.com", PASSWORD)


ACME, GLOBEX, INITECH = "100001", "100002", "100003"


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Tokens live in the cache; each test starts without any."""
    cache.clear()
    memory_cache.clear()
    yield
    cache.clear()
    memory_cache.clear()


@pytest.fixture
def cloud():
    """The built-in cloud, in memory, reached through the real client code in-process.

    Accounts: acme (100001, user acme-admin), globex (100002), initech (100003).
    """
    state = CloudState(":memory:")
    for tenant, name in [(ACME, "Acme"), (GLOBEX, "Globex"), (INITECH, "Initech")]:
        state.add_account(tenant, name)
        state.add_user(
            f"{name.lower()}-admin", tenant, api_key="demo-api-key", password="demo-cloud-password"
        )
    factory = cloud_http.session_factory
    clouds.use_builtin_cloud(FakeCloudApp(state, settings.FAKE_CLOUD_URL))
    yield state
    cloud_http.session_factory = factory


def acme_image(cloud: CloudState, name: str = "web-base", **fields) -> str:
    """A new image owned by acme in IAD; returns its ID."""
    return cloud.create_image(owner=ACME, region="IAD", name=name, **fields)["id"]


@pytest.fixture
def team(db) -> Team:
    team = Team(
        name="Acme",
        slug="acme",
        auth_kind=AuthKind.RACKSPACE_APIKEY,
        identity_url=f"{settings.FAKE_CLOUD_URL}/identity",
        username="acme-admin",
        tenant_id="100001",
        regions=["IAD", "DFW"],
        default_region="IAD",
    )
    team.set_secret("demo-api-key")
    team.save()
    return team


@pytest.fixture
def other_team(db) -> Team:
    return Team.objects.create(name="Umbrella", slug="umbrella", tenant_id="100009")


def _member(team: Team, username: str, role: str) -> User:
    user = make_user(username)
    Membership.objects.create(user=user, team=team, role=role)
    return user


@pytest.fixture
def alice(team) -> User:
    return _member(team, "alice", Role.ADMIN)


@pytest.fixture
def bob(team) -> User:
    return _member(team, "bob", Role.MEMBER)


@pytest.fixture
def carol(team) -> User:
    return _member(team, "carol", Role.VIEWER)


@pytest.fixture
def dave(other_team) -> User:
    """An outsider: admin of another team."""
    return _member(other_team, "dave", Role.ADMIN)


# Browser tests: Debian's Chromium driven by Playwright (no browser download of its own).

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
skip_without_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)"
)


@pytest.fixture
def page(live_server, monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop; Django's ORM refuses to run inside one unless told.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page()
        page.set_default_timeout(15_000)
        yield page
        browser.close()


def log_in(page, base_url: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base_url}/t/**")
