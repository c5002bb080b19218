"""`send`: headers, timeouts, which failures are retried, how long it waits, and the seam where
the built-in cloud is mounted."""

import time

import pytest
import requests
from django.core.cache import cache

from builtin_cloud import FakeCloudAdapter, FakeCloudApp, make_session
from sharing.cloud import CloudAccount, HttpPolicy, ImagesClient, NoResponse, get_auth, http
from sharing.clouds import http_policy

BASE = "http://cloud.test"
VERSIONS = f"{BASE}/iad/images/versions"
TOKENS = f"{BASE}/identity/v2.0/tokens"
FAST = HttpPolicy(max_attempts=3, backoff_base=0.001, backoff_cap=0.002)
ACCOUNT = CloudAccount("rackspace-apikey", f"{BASE}/identity", "acme-admin", "acme-key")


class RecordingAdapter(FakeCloudAdapter):
    """The built-in cloud's transport, noting the headers and timeouts of each request."""

    def __init__(self, app: FakeCloudApp) -> None:
        super().__init__(app)
        self.sent: list[tuple[dict[str, str], object]] = []

    def send(self, request, stream=False, timeout=None, **kwargs):
        self.sent.append((dict(request.headers), timeout))
        return super().send(request, stream=stream, timeout=timeout, **kwargs)


@pytest.fixture
def adapter(app) -> RecordingAdapter:
    return RecordingAdapter(app)


@pytest.fixture
def session(adapter) -> requests.Session:
    session = requests.Session()
    session.mount(f"{BASE}/", adapter)
    return session


def test_every_request_says_who_it_is_and_wants_json(session, adapter):
    http.send(session, "GET", VERSIONS, policy=FAST, headers={"X-Auth-Token": "t"})

    headers, _ = adapter.sent[0]
    assert headers["Accept"] == "application/json"
    assert headers["User-Agent"] == "image-sharing-dashboard"
    assert headers["X-Auth-Token"] == "t"


def test_every_request_has_connect_and_read_timeouts_from_settings(settings, session, adapter):
    settings.CLOUD_CONNECT_TIMEOUT = 1.5
    settings.CLOUD_READ_TIMEOUT = 2.5

    http.send(session, "GET", VERSIONS, policy=http_policy())

    assert adapter.sent[0][1] == (1.5, 2.5)


def test_the_time_cap_comes_from_settings(settings):
    settings.CLOUD_RETRY_TOTAL_SECONDS = 4.0

    assert http_policy(max_attempts=2).total_seconds == 4.0


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_reads_are_retried_after_server_errors(state, session, status):
    state.add_fault("error", route="versions", status=status, times=1)

    assert http.send(session, "GET", VERSIONS, policy=FAST).status_code == 200
    assert state.calls("versions") == 2


def test_reads_are_retried_after_a_reset_connection(state, session):
    state.add_fault("reset", route="versions", times=2)

    assert http.send(session, "GET", VERSIONS, policy=FAST).status_code == 200
    assert state.calls("versions") == 3


def test_a_post_is_never_retried(state, session):
    state.add_fault("error", route="identity_rackspace", status=503)

    response = http.send(session, "POST", TOKENS, policy=FAST, json={})

    assert response.status_code == 503
    assert state.calls("identity_rackspace") == 1


def test_a_post_without_an_answer_is_not_retried_either(state, session):
    state.add_fault("timeout", route="identity_rackspace")

    with pytest.raises(NoResponse, match="cloud.test did not answer in time"):
        http.send(session, "POST", TOKENS, policy=FAST, json={})

    assert state.calls("identity_rackspace") == 1


def test_client_errors_are_not_retried(state, session):
    state.add_fault("error", route="versions", status=404)

    assert http.send(session, "GET", VERSIONS, policy=FAST).status_code == 404
    assert state.calls("versions") == 1


def test_a_member_limit_413_is_not_retried_but_a_rate_limit_413_is(state, session):
    state.add_fault(
        "error", route="versions", status=413, times=1, message="Image member limit exceeded"
    )
    assert http.send(session, "GET", VERSIONS, policy=FAST).status_code == 413

    state.add_fault("rate_limit", route="versions", status=413, times=1)
    assert http.send(session, "GET", VERSIONS, policy=FAST).status_code == 200

    assert state.calls("versions") == 3


def test_retry_after_is_honoured_instead_of_the_backoff(state, session):
    slow_backoff = HttpPolicy(backoff_base=10, backoff_cap=10)
    state.add_fault("rate_limit", route="versions", status=429, retry_after="0.05", times=1)

    started = time.monotonic()
    response = http.send(session, "GET", VERSIONS, policy=slow_backoff)

    assert response.status_code == 200
    assert 0.05 <= time.monotonic() - started < 1


def test_a_retry_after_beyond_the_time_cap_is_not_waited_for(state, session):
    state.add_fault("rate_limit", route="versions", status=429, retry_after="30")

    started = time.monotonic()
    response = http.send(session, "GET", VERSIONS, policy=HttpPolicy(total_seconds=1))

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "30"
    assert time.monotonic() - started < 0.5
    assert state.calls("versions") == 1


def test_retrying_stops_at_the_time_cap(state, session):
    policy = HttpPolicy(total_seconds=0.3, max_attempts=20, backoff_base=0.1, backoff_cap=0.1)
    state.add_fault("error", route="versions", status=503)

    started = time.monotonic()
    response = http.send(session, "GET", VERSIONS, policy=policy)

    assert response.status_code == 503
    assert time.monotonic() - started < 0.4
    assert 3 <= state.calls("versions") <= 7


def test_the_backoff_doubles_with_jitter_up_to_its_cap():
    policy = HttpPolicy(backoff_base=1, backoff_cap=4)

    for retry_number, ceiling in [(1, 1), (2, 2), (3, 4), (4, 4), (10, 4)]:
        delays = {policy.backoff(retry_number) for _ in range(20)}
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
        assert len(delays) > 1  # jittered, so clients do not retry in step


def test_the_session_factory_is_where_the_built_in_cloud_is_mounted(
    state, app, monkeypatch, settings
):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()
    monkeypatch.setattr(http, "session_factory", lambda: make_session(app))

    assert get_auth(ACCOUNT).tenant_id == "100001"
    assert ImagesClient(ACCOUNT, "IAD").list_images().items == []
    assert state.calls("identity_rackspace") == 1
