"""Sessions, timeouts and retries: every byte the dashboard sends to a cloud goes through `send`.

The retry loop lives here, above the transport, rather than in urllib3's `Retry` inside an
`HTTPAdapter`: the built-in cloud is mounted as its own transport adapter (no urllib3 at all), and
the decision needs the response body (a 413 may be the member quota, which retrying cannot fix).
"""

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

import requests
from django.conf import settings

from .errors import NoResponse, is_member_limit, parse_retry_after

log = logging.getLogger(__name__)

HEADERS = {"Accept": "application/json", "User-Agent": "image-sharing-dashboard"}
# PATCH is here because the only PATCH we send (visibility to `shared`) is idempotent.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "PATCH"})
RETRY_STATUSES = frozenset({413, 429, 500, 502, 503, 504})
_TRANSPORT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


@dataclass(frozen=True)
class HttpPolicy:
    """Timeouts of each attempt, and when and how long to retry.

    `total_seconds` caps the time spent retrying: no new attempt starts, and no wait is taken,
    past it. One attempt is bounded by its own timeouts.
    """

    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    total_seconds: float = 15.0
    max_attempts: int = 4
    backoff_base: float = 0.5
    backoff_cap: float = 8.0
    retry_methods: frozenset[str] = IDEMPOTENT_METHODS
    retry_statuses: frozenset[int] = RETRY_STATUSES

    @classmethod
    def from_settings(cls, **overrides) -> "HttpPolicy":
        policy = cls(
            connect_timeout=settings.CLOUD_CONNECT_TIMEOUT,
            read_timeout=settings.CLOUD_READ_TIMEOUT,
            total_seconds=settings.CLOUD_RETRY_TOTAL_SECONDS,
        )
        return replace(policy, **overrides)

    def backoff(self, retry_number: int) -> float:
        """Exponential backoff with jitter, so that many clients do not retry in step."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (retry_number - 1))
        return ceiling * random.uniform(0.5, 1.0)


# Replaceable: the app sets a factory that mounts the built-in cloud's transport adapter.
# Callers look it up at call time (`http.session_factory()`); never import the name itself.
session_factory: Callable[[], requests.Session] = requests.Session


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    policy: HttpPolicy | None = None,
    headers: dict[str, str] | None = None,
    **kwargs,
) -> requests.Response:
    """Send a request, retrying transient failures of idempotent methods; POST never.

    Returns the last response whatever its status. Raises `NoResponse` when none arrived.
    """
    policy = policy or HttpPolicy.from_settings()
    method = method.upper()
    retrying = method in policy.retry_methods
    deadline = time.monotonic() + policy.total_seconds
    attempt = 0
    while True:
        attempt += 1
        try:
            response = session.request(
                method,
                url,
                headers={**HEADERS, **(headers or {})},
                timeout=(policy.connect_timeout, policy.read_timeout),
                **kwargs,
            )
        except _TRANSPORT_ERRORS as error:
            if not retrying or not _wait(policy, attempt, None, deadline, method, url, error):
                raise _no_response(error, url) from error
            continue
        if not retrying or not _is_transient(response, policy):
            return response
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if not _wait(policy, attempt, retry_after, deadline, method, url, response.status_code):
            return response


def _is_transient(response: requests.Response, policy: HttpPolicy) -> bool:
    if response.status_code not in policy.retry_statuses:
        return False
    return not is_member_limit(response)


def _wait(
    policy: HttpPolicy,
    attempt: int,
    retry_after: float | None,
    deadline: float,
    method: str,
    url: str,
    cause: object,
) -> bool:
    """Sleep before the next attempt; False when there is none (attempts or time used up)."""
    if attempt >= policy.max_attempts:
        return False
    delay = policy.backoff(attempt) if retry_after is None else retry_after
    if time.monotonic() + delay > deadline:
        return False
    log.info("Retrying %s %s in %.2fs after %s", method, _safe(url), delay, cause)
    time.sleep(delay)
    return True


def _no_response(error: Exception, url: str) -> NoResponse:
    host = urlsplit(url).netloc
    if isinstance(error, requests.ConnectTimeout):
        text = f"Could not connect to {host} in time."
    elif isinstance(error, requests.Timeout):
        text = f"{host} did not answer in time."
    else:
        text = f"The connection to {host} failed."
    return NoResponse(text)


def _safe(url: str) -> str:
    """The URL without its query, for logs."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
