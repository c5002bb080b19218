"""Sessions, timeouts and retries: every byte the dashboard sends to a cloud goes through `send`.

The retry loop lives here, above the transport, rather than in urllib3's `Retry` inside an
`HTTPAdapter`: the built-in cloud is mounted as its own transport adapter (no urllib3 at all), and
the decision needs the response body (a 413 may be the member quota, which retrying cannot fix).
"""

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import NewConnectionError

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

    def backoff(self, retry_number: int) -> float:
        """Exponential backoff with jitter, so that many clients do not retry in step."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (retry_number - 1))
        return ceiling * random.uniform(0.5, 1.0)


# Replaceable: the app sets a factory that mounts the built-in cloud's transport adapter.
# Callers look it up at call time (`http.session_factory()`); never import the name itself.
session_factory: Callable[[], requests.Session] = requests.Session


@dataclass
class Attempts:
    """What the tries of one `send` met before the last, for callers that must know whether an
    earlier try may have been applied (a retried DELETE that meets a 404)."""

    unanswered: int = 0  # no answer at all: it may have reached the cloud
    failed_statuses: list[int] = field(default_factory=list)  # 5xx, 429, 413 retried

    @property
    def earlier_may_have_applied(self) -> bool:
        return self.unanswered > 0 or any(status >= 500 for status in self.failed_statuses)


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    policy: HttpPolicy | None = None,
    headers: dict[str, str] | None = None,
    attempts: Attempts | None = None,
    **kwargs,
) -> requests.Response:
    """Send a request, retrying transient failures of idempotent methods; POST never.

    Returns the last response whatever its status. Raises `NoResponse` when none arrived.
    `attempts`, if given, learns what the earlier tries met.
    """
    attempts = attempts if attempts is not None else Attempts()
    policy = policy or HttpPolicy()
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
            attempts.unanswered += 1
            continue
        if not retrying or not _is_transient(response, policy):
            return response
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if not _wait(policy, attempt, retry_after, deadline, method, url, response.status_code):
            return response
        attempts.failed_statuses.append(response.status_code)


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
    return NoResponse(text, sent=not _never_sent(error))


def _never_sent(error: Exception) -> bool:
    """A request that never connected cannot have been applied; one that was sent may have."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    reason = error.args[0] if error.args else None
    return isinstance(getattr(reason, "reason", reason), NewConnectionError)


def _safe(url: str) -> str:
    """The URL without its query, for logs."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
