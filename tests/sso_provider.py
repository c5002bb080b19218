"""The real OpenID Connect provider (tests/oidc/provider.mjs, node-oidc-provider) on loopback,
and a person signing in through it: the Django test client is the dashboard's side, a
`requests` session is the person's browser at the provider. Nothing of the protocol is mocked."""

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests

HERE = Path(__file__).resolve().parent / "oidc"
CLIENT_ID, CLIENT_SECRET = "dashboard", "dashboard-secret"


@dataclass
class Provider:
    issuer: str

    def set_user(self, username: str, password: str, groups: list[str]) -> None:
        body = {"username": username, "password": password, "groups": groups}
        requests.post(f"{self.issuer}/__control/users", json=body, timeout=5).raise_for_status()

    def spoil_next_id_token(self, mode: str) -> None:
        body = {"mode": mode}
        requests.post(f"{self.issuer}/__control/spoil", json=body, timeout=5).raise_for_status()


def missing() -> str:
    """Why the provider cannot run here, or "" when it can."""
    if shutil.which("node") is None:
        return "node is not installed (the OpenID Connect tests run a real provider on Node)"
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        return "tests/oidc/node_modules is missing: `make test` installs it with npm ci"
    return ""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running(redirect_base: str) -> Iterator[Provider]:
    reason = missing()
    if reason:
        pytest.skip(reason)
    port = _free_port()
    env = {
        **os.environ, "OIDC_PORT": str(port), "OIDC_TEST_CONTROL": "1",
        "OIDC_REDIRECT_URIS": f"{redirect_base}/accounts/sso/login/callback/",
        "OIDC_POST_LOGOUT_URIS": f"{redirect_base}/accounts/login/",
    }  # fmt: skip
    process = subprocess.Popen(
        ["node", "provider.mjs"], cwd=HERE, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("ready "), f"the provider did not start: {line!r}"
        yield Provider(issuer=line.split()[1])
    finally:
        process.terminate()
        process.wait(timeout=10)


def use(settings, provider: Provider) -> None:
    """Point the dashboard at the provider, as OIDC_* variables would."""
    from sharing.settings import sso_providers

    settings.OIDC_ISSUER, settings.OIDC_CLIENT_ID = provider.issuer, CLIENT_ID
    settings.OIDC_NAME = "Example SSO"
    settings.SOCIALACCOUNT_PROVIDERS = sso_providers(
        provider.issuer, CLIENT_ID, CLIENT_SECRET, "Example SSO"
    )


def authorize(client, username: str = "sso-alice", password: str = "demo-password") -> str:
    """Start at the dashboard, sign in at the provider; the callback URL the browser is sent
    back to (not yet opened)."""
    start = client.post("/accounts/sso/login/")
    assert start.status_code == 302, start
    browser = requests.Session()
    location = start["Location"]
    response = browser.get(location, allow_redirects=False)
    interaction = urljoin(location, response.headers["location"])
    form = {"username": username, "password": password}
    response = browser.post(interaction, data=form, allow_redirects=False)
    while True:
        location = urljoin(interaction, response.headers["location"])
        if urlsplit(location).netloc == "testserver":
            return location
        response = browser.get(location, allow_redirects=False)


def callback(client, url: str):
    parts = urlsplit(url)
    return client.get(f"{parts.path}?{parts.query}")


def sign_in(client, **credentials: str):
    return callback(client, authorize(client, **credentials))
