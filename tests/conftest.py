"""The shared cast: a team `acme` with an admin, a member and a viewer, and an outsider; the
built-in cloud's fixtures; and a guard that keeps every test on this machine."""

import ipaddress
import shutil
import socket
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache

from builtin_cloud import CloudState, FakeCloudApp, make_session
from sharing import clouds
from sharing.cloud import http as cloud_http
from sharing.cloud.identity import memory_cache
from sharing.models import AuthKind, Membership, Role, Team

PASSWORD = "correct horse battery"
ROOT = Path(__file__).resolve().parent.parent


# Hermetic: a test that reaches beyond loopback fails loudly instead of passing on a "cloud did
# not answer" page (name lookups count: they leave the machine too).

_real_getaddrinfo = socket.getaddrinfo
_real_connect = socket.socket.connect


def _loopback(host: object) -> bool:
    if host in ("localhost", None, "") or not isinstance(host, str | bytes):
        return True
    try:
        return ipaddress.ip_address(host if isinstance(host, str) else host.decode()).is_loopback
    except ValueError:
        return False


class NetworkGuardError(RuntimeError):
    """A test tried to reach an address that is not on this machine."""


def _guarded_getaddrinfo(host, *args, **kwargs):
    if not _loopback(host):
        raise NetworkGuardError(f"Tests stay on loopback: a lookup of {host!r} was refused.")
    return _real_getaddrinfo(host, *args, **kwargs)


def _guarded_connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
        raise NetworkGuardError(f"Tests stay on loopback: a connection to {address!r} was refused.")
    return _real_connect(self, address)


socket.getaddrinfo = _guarded_getaddrinfo
socket.socket.connect = _guarded_connect  # type: ignore[method-assign]


def messages_of(response) -> list[str]:
    """The Django messages a page showed."""
    return [str(m) for m in response.context["messages"]]


def message_text(response) -> str:
    return " ".join(messages_of(response))


# The built-in cloud on its own, for tests of the cloud module (no team, no Django cache).

BASE = "http://cloud.test"
HEX_PROJECT = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def state() -> CloudState:
    """Accounts acme (100001: password, API key and an application credential), globex
    (100002) and a Keystone-style hex project."""
    state = CloudState()
    state.add_account("100001", "Acme")
    state.add_user("acme-admin", "100001", password="acme-password", api_key="acme-key")
    state.add_app_credential("acme-appcred", "appcred-secret", "acme-admin")
    state.add_account("100002", "Globex")
    state.add_user("globex-admin", "100002", api_key="globex-key")
    state.add_account(HEX_PROJECT, "Hexworks")
    state.add_user("hex-admin", HEX_PROJECT, password="hex-password")
    return state


@pytest.fixture
def app(state) -> FakeCloudApp:
    return FakeCloudApp(state, BASE)


@pytest.fixture
def session(app) -> requests.Session:
    return make_session(app)


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


# Webhooks: a verifying receiver, an endpoint pointing at it, and committed() (tests/webhooks.py).
from .webhooks import committed, endpoint, receiver  # noqa: E402, F401
