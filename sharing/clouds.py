"""Between the dashboard's teams and the cloud module: accounts, clients, the built-in cloud."""

from functools import cache

import requests
from django.conf import settings

from sharing.cloud import http as cloud_http
from sharing.cloud.fake import CloudState, FakeCloudAdapter, FakeCloudApp
from sharing.cloud.identity import CloudAccount
from sharing.cloud.images import ImagesClient
from sharing.models import Team


def account_for(team: Team) -> CloudAccount:
    return CloudAccount(
        auth_kind=team.auth_kind,
        identity_url=team.identity_url,
        username=team.username,
        secret=team.get_secret(),
        project=team.project,
        domain=team.domain or "Default",
    )


def client_for(team: Team, region: str) -> ImagesClient:
    return ImagesClient(account_for(team), region)


@cache
def demo_cloud() -> FakeCloudApp:
    """The built-in cloud of the demo, kept in an SQLite file that every process shares."""
    from pathlib import Path

    Path(settings.FAKE_CLOUD_DB).parent.mkdir(parents=True, exist_ok=True)
    return FakeCloudApp(CloudState(settings.FAKE_CLOUD_DB), settings.FAKE_CLOUD_URL)


def use_builtin_cloud(app: FakeCloudApp) -> None:
    """Route requests for the built-in cloud's URL in-process; other clouds stay real HTTP."""

    def session_factory() -> requests.Session:
        session = _real_factory()
        session.mount(app.base_url, FakeCloudAdapter(app))
        return session

    cloud_http.session_factory = session_factory


_real_factory = cloud_http.session_factory
