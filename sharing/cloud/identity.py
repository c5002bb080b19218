"""Authentication: Rackspace Identity v2.0 and Keystone v3, the image endpoints of the catalog,
and the token cache.

The token is cached until shortly before it expires, so a page view does not authenticate. The
cache is passed in (the dashboard passes Django's, shared by every process; the default is one
in this process's memory). The cache key is a hash of who is authenticating, never of the
secret; the cached value holds the token, its expiry, the tenant and the endpoints.
"""

import hashlib
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests

from . import http
from .errors import AuthenticationFailed, error_from_response, request_id_of, upstream_message

AUTH_KINDS = (
    ("rackspace-apikey", "Rackspace Identity v2.0, API key"),
    ("rackspace-password", "Rackspace Identity v2.0, password"),
    ("keystone-password", "Keystone v3, password"),
    ("keystone-appcred", "Keystone v3, application credential"),
)
# Tokens are dropped from the cache this long before they expire, so a call never starts with
# a token about to die.
EXPIRY_MARGIN = timedelta(minutes=5)
_HEX32 = re.compile(r"[0-9a-fA-F]{32}")
_VERSION_SUFFIX = re.compile(r"/v\d+(\.\d+)?$")
_IMAGE_API_VERSION = re.compile(r"/v2(\.\d+)?$")


@dataclass(frozen=True)
class CloudAccount:
    """Who to authenticate as. For an application credential, `username` is its ID."""

    auth_kind: str
    identity_url: str
    username: str
    secret: str = field(repr=False)
    project: str = ""
    domain: str = "Default"

    def __post_init__(self) -> None:
        if self.auth_kind not in dict(AUTH_KINDS):
            raise ValueError(f"Unknown auth kind {self.auth_kind!r}.")


@dataclass
class Auth:
    token: str = field(repr=False)
    expires_at: datetime
    tenant_id: str
    endpoints: dict[str, str]  # region -> image API root, without /v2

    @property
    def regions(self) -> list[str]:
        return sorted(self.endpoints)

    def root_for(self, region: str) -> str:
        """The image API root of a region (case-insensitive)."""
        for name, root in self.endpoints.items():
            if name.upper() == region.upper():
                return root
        found = ", ".join(self.regions) or "none"
        raise AuthenticationFailed(
            f"The catalog has no image endpoint in region {region} (found: {found})."
        )

    def fresh(self) -> bool:
        return datetime.now(UTC) < self.expires_at - EXPIRY_MARGIN


class TokenCache(Protocol):
    """What the token cache must do; Django's cache does it."""

    def get(self, key: str) -> Any: ...

    def set(self, key: str, value: Any, timeout: int) -> Any: ...


class MemoryTokenCache:
    """The default: this process's memory, for scripts and tests without a shared cache."""

    def __init__(self) -> None:
        self._values: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self._lock:
            expires, value = self._values.get(key, (0.0, None))
            return value if time.monotonic() < expires else None

    def set(self, key: str, value: Any, timeout: int) -> None:
        with self._lock:
            self._values[key] = (time.monotonic() + timeout, value)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


memory_cache = MemoryTokenCache()


def get_auth(
    account: CloudAccount,
    *,
    session: requests.Session | None = None,
    force: bool = False,
    cache: TokenCache | None = None,
) -> Auth:
    """The cached token of the account, or a new one."""
    cache = cache or memory_cache
    if not force:
        cached = _from_cache(cache.get(_cache_key(account)))
        if cached is not None and cached.fresh():
            return cached
    return authenticate(account, session=session, cache=cache)


def authenticate(
    account: CloudAccount,
    *,
    session: requests.Session | None = None,
    cache: TokenCache | None = None,
) -> Auth:
    """Ask the identity service for a new token, and cache it."""
    url = urlsplit(account.identity_url)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise AuthenticationFailed(
            f"The identity URL {account.identity_url!r} is not a web address."
        )
    session = session or http.session_factory()
    if account.auth_kind.startswith("rackspace"):
        auth = _rackspace(account, session)
    else:
        auth = _keystone(account, session)
    if not auth.endpoints:
        raise AuthenticationFailed(
            f"The catalog of {account.username} has no image service endpoint."
        )
    _to_cache(cache or memory_cache, account, auth)
    return auth


# Rackspace Identity v2.0 (docs/glance.md §4)


def _rackspace(account: CloudAccount, session: requests.Session) -> Auth:
    if account.auth_kind == "rackspace-apikey":
        credentials = {
            "RAX-KSKEY:apiKeyCredentials": {"username": account.username, "apiKey": account.secret}
        }
    else:
        credentials = {
            "passwordCredentials": {"username": account.username, "password": account.secret}
        }
    url = _versioned(account.identity_url, "v2.0") + "/tokens"
    response = _post(session, url, {"auth": credentials}, account)
    try:
        access = response.json()["access"]
        token = access["token"]
        return Auth(
            token=_text(token["id"]),
            expires_at=_parse_time(token["expires"]),
            tenant_id=_text(token["tenant"]["id"]),
            endpoints={
                _text(endpoint["region"]): _image_root(endpoint["publicURL"])
                for service in access.get("serviceCatalog") or []
                if service.get("type") == "image"
                for endpoint in service.get("endpoints") or []
                if endpoint.get("region") and endpoint.get("publicURL")
            },
        )
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise _malformed(response) from error


# Keystone v3 (docs/glance.md §5)


def _keystone(account: CloudAccount, session: requests.Session) -> Auth:
    url = _versioned(account.identity_url, "v3") + "/auth/tokens"
    response = _post(session, url, {"auth": _keystone_auth(account)}, account)
    try:
        token = response.json()["token"]
        return Auth(
            token=_text(response.headers["X-Subject-Token"]),
            expires_at=_parse_time(token["expires_at"]),
            tenant_id=_text(token["project"]["id"]),
            endpoints={
                _text(endpoint.get("region_id") or endpoint["region"]): _image_root(endpoint["url"])
                for service in token.get("catalog") or []
                if service.get("type") == "image"
                for endpoint in service.get("endpoints") or []
                if endpoint.get("interface") == "public"
                and (endpoint.get("region_id") or endpoint.get("region"))
            },
        )
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise _malformed(response) from error


def _keystone_auth(account: CloudAccount) -> dict:
    if account.auth_kind == "keystone-appcred":
        # The credential carries its own project scope: sending a scope is an error.
        return {
            "identity": {
                "methods": ["application_credential"],
                "application_credential": {"id": account.username, "secret": account.secret},
            }
        }
    domain = {"name": account.domain}
    auth: dict = {
        "identity": {
            "methods": ["password"],
            "password": {
                "user": {"name": account.username, "domain": domain, "password": account.secret}
            },
        }
    }
    if _HEX32.fullmatch(account.project):
        auth["scope"] = {"project": {"id": account.project}}
    elif account.project:
        auth["scope"] = {"project": {"name": account.project, "domain": domain}}
    return auth


# Both


def _post(
    session: requests.Session, url: str, body: dict, account: CloudAccount
) -> requests.Response:
    response = http.send(session, "POST", url, json=body)
    status = response.status_code
    if status < 400:
        return response
    if status in (413, 429) or status >= 500:
        raise error_from_response(response)
    if status in (400, 401, 403):
        reason = upstream_message(response)
        message = f"The cloud rejected the credentials for {account.username}." + (
            f" It said: {reason}" if reason else ""
        )
    else:
        message = f"The identity service at {url} answered HTTP {status}."
    raise AuthenticationFailed(message, status=status, request_id=request_id_of(response))


def _malformed(response: requests.Response) -> AuthenticationFailed:
    return AuthenticationFailed(
        "The identity service answered without a usable token or catalog.",
        status=response.status_code,
        request_id=request_id_of(response),
    )


def _versioned(identity_url: str, version: str) -> str:
    """The identity URL ending in `/v2.0` or `/v3`, whether or not it was given with one."""
    return _VERSION_SUFFIX.sub("", identity_url.rstrip("/")) + "/" + version


def _image_root(url: str) -> str:
    """The image API root: a catalog URL without its trailing `/v2` or `/v2.x`
    (docs/glance.md §1)."""
    return _IMAGE_API_VERSION.sub("", _text(url).rstrip("/"))


def _text(value: object) -> str:
    if not isinstance(value, str | int) or isinstance(value, bool) or value == "":
        raise ValueError(f"expected a string, got {value!r}")
    return str(value)


def _parse_time(value: object) -> datetime:
    parsed = datetime.fromisoformat(_text(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# The cache


def _cache_key(account: CloudAccount) -> str:
    who = "\n".join(
        [account.auth_kind, account.identity_url, account.username, account.project, account.domain]
    )
    return "cloud-token:" + hashlib.sha256(who.encode()).hexdigest()


def _to_cache(cache: TokenCache, account: CloudAccount, auth: Auth) -> None:
    seconds = (auth.expires_at - EXPIRY_MARGIN - datetime.now(UTC)).total_seconds()
    if seconds <= 0:
        return
    value = {
        "token": auth.token,
        "expires_at": auth.expires_at.isoformat(),
        "tenant_id": auth.tenant_id,
        "endpoints": auth.endpoints,
    }
    cache.set(_cache_key(account), value, timeout=int(seconds))


def _from_cache(value: object) -> Auth | None:
    # A plain dict, not a pickled Auth: an old entry survives a deploy that changes the class.
    if not isinstance(value, dict):
        return None
    try:
        return Auth(
            token=value["token"],
            expires_at=datetime.fromisoformat(value["expires_at"]),
            tenant_id=value["tenant_id"],
            endpoints=dict(value["endpoints"]),
        )
    except (KeyError, TypeError, ValueError):
        return None
