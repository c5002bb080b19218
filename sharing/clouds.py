"""Between the dashboard's teams and the cloud module: accounts, clients, the built-in cloud.

The cloud module is plain Python; this is where it meets Django: the HTTP policy comes from
settings, tokens are cached in Django's cache (shared by every process), and each thread keeps
one `requests` session, so connections to a cloud are reused from one page view to the next
instead of paying a TLS handshake per page.
"""

import json
import threading
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import requests
from django.conf import settings
from django.core.cache import cache as django_cache

from sharing import crypto
from sharing.cloud import CloudAccount, HttpPolicy, ImagesClient
from sharing.cloud import http as cloud_http
from sharing.models import Team

if TYPE_CHECKING:  # the built-in cloud is imported only when the demo or a test uses it
    from builtin_cloud import FakeCloudApp


def account_for(team: Team) -> CloudAccount:
    return CloudAccount(
        auth_kind=team.auth_kind,
        identity_url=team.identity_url,
        username=team.username,
        secret=team.get_secret(),
        project=team.project,
        domain=team.domain or "Default",
    )


def http_policy(**overrides) -> HttpPolicy:
    policy = HttpPolicy(
        connect_timeout=settings.CLOUD_CONNECT_TIMEOUT,
        read_timeout=settings.CLOUD_READ_TIMEOUT,
        total_seconds=settings.CLOUD_RETRY_TOTAL_SECONDS,
    )
    return replace(policy, **overrides)


def client_for(team: Team, region: str) -> ImagesClient:
    """A client for the team's account in a region. Building it does no I/O: it authenticates
    (or finds its token in the cache) on its first call."""
    return ImagesClient(
        account_for(team), region, session=thread_session(), policy=http_policy(),
        token_cache=token_cache,
    )  # fmt: skip


class EncryptedTokenCache:
    """Django's cache, holding tokens encrypted with the credentials key.

    A cloud token is as good as the secret for a day; the default cache is a database table,
    so it is kept there as the stored secrets are (`sharing.crypto`). A value no configured key
    opens (the key was rotated) reads as absent: the client authenticates again.
    """

    def get(self, key: str) -> object:
        value = django_cache.get(key)
        if not isinstance(value, str):
            return None
        try:
            return json.loads(crypto.decrypt(value))
        except (ValueError, TypeError):
            return None

    def set(self, key: str, value: object, timeout: int) -> None:
        django_cache.set(key, crypto.encrypt(json.dumps(value)), timeout=timeout)


token_cache = EncryptedTokenCache()


_local = threading.local()


def thread_session() -> requests.Session:
    """This thread's session (its connection pools live as long as the thread).

    A new one when the session factory changed (a test mounting a fresh built-in cloud).
    """
    factory = cloud_http.session_factory
    if getattr(_local, "factory", None) is not factory:
        old = getattr(_local, "session", None)
        if old is not None:
            old.close()
        _local.session, _local.factory = factory(), factory
    return _local.session


@cache
def demo_cloud() -> "FakeCloudApp":
    """The built-in cloud of the demo, kept in an SQLite file that every process shares."""
    from builtin_cloud import CloudState, FakeCloudApp

    Path(settings.FAKE_CLOUD_DB).parent.mkdir(parents=True, exist_ok=True)
    return FakeCloudApp(CloudState(settings.FAKE_CLOUD_DB), settings.FAKE_CLOUD_URL)


def use_builtin_cloud(app: "FakeCloudApp") -> None:
    """Route requests for the built-in cloud's URL in-process; other clouds stay real HTTP."""
    from builtin_cloud import FakeCloudAdapter

    def session_factory() -> requests.Session:
        session = _real_factory()
        session.mount(app.base_url, FakeCloudAdapter(app))
        return session

    cloud_http.session_factory = session_factory


_real_factory = cloud_http.session_factory
