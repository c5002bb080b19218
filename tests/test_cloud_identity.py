"""Authentication, the catalog and the token cache, over HTTP against the built-in cloud."""

from datetime import UTC, datetime, timedelta
from http import HTTPStatus

import pytest
import requests
from django.core.cache import cache

from builtin_cloud import FakeCloudAdapter
from sharing.cloud import (
    AuthenticationFailed,
    CloudAccount,
    RateLimited,
    Unavailable,
    authenticate,
    get_auth,
)
from sharing.cloud.identity import _cache_key

from .conftest import BASE, HEX_PROJECT

IDENTITY = f"{BASE}/identity"


def account(kind: str = "rackspace-apikey", **overrides: str) -> CloudAccount:
    secrets = {
        "rackspace-apikey": "acme-key",
        "rackspace-password": "acme-password",
        "keystone-password": "acme-password",
        "keystone-appcred": "appcred-secret",
    }
    fields = {
        "auth_kind": kind,
        "identity_url": IDENTITY,
        "username": "acme-appcred" if kind == "keystone-appcred" else "acme-admin",
        "secret": secrets[kind],
        "project": "Acme" if kind == "keystone-password" else "",
    }
    return CloudAccount(**(fields | overrides))


def canned_session(status: int, body: bytes, headers=()) -> requests.Session:
    """A session whose every answer is the given one, for answers the built-in cloud never gives."""

    def app(environ, start_response):
        phrase = HTTPStatus(status).phrase
        start_response(f"{status} {phrase}", [("Content-Type", "application/json"), *headers])
        return [body]

    session = requests.Session()
    session.mount("http://canned.test/", FakeCloudAdapter(app))
    return session


@pytest.mark.parametrize("kind", ["rackspace-apikey", "rackspace-password"])
def test_it_authenticates_with_rackspace_identity(session, kind):
    auth = authenticate(account(kind), session=session)

    assert auth.token
    assert auth.tenant_id == "100001"
    assert auth.expires_at > datetime.now(UTC) + timedelta(hours=23)


def test_it_strips_the_v2_from_rackspace_image_endpoints(session):
    auth = authenticate(account(), session=session)

    assert auth.regions == ["DFW", "IAD", "ORD"]
    assert auth.endpoints["IAD"] == f"{BASE}/iad/images"


def test_it_authenticates_with_keystone_and_a_project_name(session):
    auth = authenticate(account("keystone-password"), session=session)

    assert auth.tenant_id == "100001"
    # Only the public interface, not the internal or admin ones.
    assert auth.endpoints == {r: f"{BASE}/{r.lower()}/images" for r in ("IAD", "DFW", "ORD")}


def test_it_scopes_a_keystone_token_by_project_id(session):
    hex_account = account(
        "keystone-password", username="hex-admin", secret="hex-password", project=HEX_PROJECT
    )

    assert authenticate(hex_account, session=session).tenant_id == HEX_PROJECT


def test_it_authenticates_with_an_application_credential(session):
    auth = authenticate(account("keystone-appcred"), session=session)

    assert auth.tenant_id == "100001"
    assert "IAD" in auth.regions


@pytest.mark.parametrize(
    ("kind", "url"),
    [
        ("rackspace-apikey", f"{IDENTITY}/v2.0"),
        ("rackspace-apikey", f"{IDENTITY}/v2.0/"),
        ("rackspace-apikey", f"{IDENTITY}/"),
        ("keystone-password", f"{IDENTITY}/v3"),
        ("keystone-appcred", f"{IDENTITY}/v3/"),
    ],
)
def test_the_identity_url_may_carry_its_version_or_not(session, kind, url):
    assert authenticate(account(kind, identity_url=url), session=session).tenant_id == "100001"


@pytest.mark.parametrize(
    "kind", ["rackspace-apikey", "rackspace-password", "keystone-password", "keystone-appcred"]
)
def test_wrong_credentials_fail_in_one_line_with_status_and_request_id(session, kind):
    with pytest.raises(AuthenticationFailed) as caught:
        authenticate(account(kind, secret="wrong-secret"), session=session)

    error = caught.value
    assert error.message.startswith("The cloud rejected the credentials for acme-")
    assert "\n" not in error.message
    assert "wrong-secret" not in error.message
    assert error.status == 401
    assert error.request_id.startswith("req-")
    assert not error.retryable


def test_an_identity_outage_is_unavailable_and_not_retried(state, session):
    state.add_fault("error", route="identity_rackspace", status=503)

    with pytest.raises(Unavailable) as caught:
        authenticate(account(), session=session)

    assert caught.value.status == 503
    assert state.calls("identity_rackspace") == 1


def test_an_identity_rate_limit_is_rate_limited(state, session):
    state.add_fault("rate_limit", route="identity_keystone", status=429, retry_after="3")

    with pytest.raises(RateLimited) as caught:
        authenticate(account("keystone-password"), session=session)

    assert caught.value.retry_after == 3.0


def test_a_wrong_identity_url_fails_in_one_line(session):
    with pytest.raises(AuthenticationFailed, match="answered HTTP 404"):
        authenticate(account(identity_url=f"{BASE}/nowhere"), session=session)


@pytest.mark.parametrize("url", ["identity.example.com/v2.0", "ftp://identity.example.com", ""])
def test_an_identity_url_that_is_not_a_web_address_fails_in_one_line(url):
    with pytest.raises(AuthenticationFailed, match="is not a web address"):
        authenticate(account(identity_url=url))


def test_a_region_missing_from_the_catalog_is_named_with_those_found(session):
    auth = authenticate(account(), session=session)

    with pytest.raises(AuthenticationFailed, match=r"region LON \(found: DFW, IAD, ORD\)"):
        auth.root_for("LON")


def test_a_region_is_found_whatever_its_case(session):
    assert authenticate(account(), session=session).root_for("iad") == f"{BASE}/iad/images"


def test_it_strips_a_minor_version_and_ignores_other_services_and_interfaces():
    body = b"""{"token": {"expires_at": "2099-01-01T00:00:00.000000Z",
        "project": {"id": "p1"},
        "catalog": [
            {"type": "compute", "endpoints": [
                {"interface": "public", "region_id": "R1", "url": "https://nova/v2.1"}]},
            {"type": "image", "endpoints": [
                {"interface": "public", "region_id": "R1", "url": "https://glance/r1/v2.1/"},
                {"interface": "public", "region": "R2", "url": "https://glance/r2"},
                {"interface": "internal", "region_id": "R3", "url": "https://glance/r3"}]}]}}"""

    auth = authenticate(
        account("keystone-password", identity_url="http://canned.test"),
        session=canned_session(201, body, [("X-Subject-Token", "t")]),
    )

    assert auth.endpoints == {"R1": "https://glance/r1", "R2": "https://glance/r2"}


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"access": {"token": {"id": "t"}}}',
        b'{"access": {"token": {"id": "t", "expires": "soon", "tenant": {"id": "1"}}}}',
    ],
)
def test_a_malformed_identity_answer_fails_in_one_line(body):
    with pytest.raises(AuthenticationFailed, match="without a usable token or catalog"):
        authenticate(account(identity_url="http://canned.test"), session=canned_session(200, body))


def test_a_catalog_without_an_image_service_fails():
    body = b"""{"access": {"token": {"id": "t", "expires": "2099-01-01T00:00:00Z",
        "tenant": {"id": "1"}}, "serviceCatalog": [{"type": "compute", "endpoints": []}]}}"""

    with pytest.raises(AuthenticationFailed, match="has no image service endpoint"):
        authenticate(account(identity_url="http://canned.test"), session=canned_session(200, body))


def test_a_cached_token_is_reused_without_calling_identity(state, session):
    first = get_auth(account(), session=session)
    second = get_auth(account(), session=session)

    assert second.token == first.token
    assert state.calls("identity_rackspace") == 1


def test_force_authenticates_again(state, session):
    first = get_auth(account(), session=session)
    second = get_auth(account(), session=session, force=True)

    assert second.token != first.token
    assert state.calls("identity_rackspace") == 2
    assert get_auth(account(), session=session).token == second.token


def test_a_token_close_to_expiry_is_not_reused(state, session):
    state.token_ttl = 240  # inside the five-minute margin

    get_auth(account(), session=session)
    get_auth(account(), session=session)

    assert state.calls("identity_rackspace") == 2


def test_accounts_with_different_projects_do_not_share_a_token(state, session):
    get_auth(account("keystone-password"), session=session)
    get_auth(account("keystone-password", project="100001"), session=session)

    assert state.calls("identity_keystone") == 2


def test_the_cache_holds_the_token_but_never_the_secret(session):
    auth = get_auth(account(), session=session, cache=cache)

    key = _cache_key(account())
    cached = cache.get(key)
    assert cached["token"] == auth.token
    assert "acme-key" not in key
    assert "acme-key" not in repr(cached)


def test_an_account_and_an_auth_never_show_their_secrets(session):
    auth = authenticate(account(), session=session)

    assert "acme-key" not in repr(account())
    assert auth.token not in repr(auth)


def test_an_unknown_auth_kind_is_refused():
    with pytest.raises(ValueError, match="Unknown auth kind"):
        CloudAccount("basic", IDENTITY, "acme-admin", "secret")
