"""The errors of the cloud module, and how an upstream error response becomes one of them.

Every error carries the HTTP status, the upstream `x-openstack-request-id`, a message a person
can read, and whether retrying later could help. Views show `message`; the ledger keeps the rest.
"""

import math
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import requests

REQUEST_ID_HEADER = "x-openstack-request-id"
# Glance's quota error (docs/glance.md §2.11); any other 413 is a rate limit (docs/glance.md §4.4).
MEMBER_LIMIT_TEXT = "image member limit exceeded"
_MAX_MESSAGE = 300


class CloudError(Exception):
    """Any failure of a cloud call. `retryable`: whether trying again later could help."""

    retryable: bool = False

    def __init__(
        self, message: str, *, status: int | None = None, request_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.request_id = request_id

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, status={self.status}, "
            f"request_id={self.request_id!r})"
        )


class BadRequest(CloudError):
    """400, or 415 for a media type the cloud does not take."""


class InvalidMarker(CloudError):
    """A list's `marker` the cloud refused: not an image it knows or lets the caller see
    (Glance answers 400, docs/glance.md §3.1). The marker came from the caller, so the fault is
    the caller's, not the cloud's."""


class Unauthorized(CloudError):
    """401 even after authenticating again."""


class Forbidden(CloudError):
    pass


class NotFound(CloudError):
    pass


class AlreadyMember(CloudError):
    """409 from adding a member: the image is already shared with that tenant."""


class MemberLimitReached(CloudError):
    """413 "Image member limit exceeded": the image's member quota, not a rate limit."""


class RateLimited(CloudError):
    """429, or a 413 that is not the member quota."""

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, status=status, request_id=request_id)
        self.retry_after = retry_after


class Unavailable(CloudError):
    """5xx, a failed connection or a timeout: worth trying again later."""

    retryable = True


class NoResponse(Unavailable):
    """No HTTP response arrived (connection refused or reset, timeout).

    `sent`: the request may have reached the cloud (it connected), so a mutation may have
    been applied; False when it never connected.
    """

    def __init__(self, message: str, *, sent: bool = True, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.sent = sent


class UnknownOutcome(CloudError):
    """A mutation was sent and nothing tells yet whether it was applied: the answer was lost,
    or a check could not confirm it while the call may still be in flight. The ledger records
    `unknown` and a later check settles it. Repeating a share is safe (a 409 means done)."""

    retryable = True


class AuthenticationFailed(CloudError):
    """Identity refused the credentials, or its answer has no usable image endpoint."""


def request_id_of(response: requests.Response) -> str | None:
    return response.headers.get(REQUEST_ID_HEADER)


def upstream_message(response: requests.Response) -> str:
    """The plain text of an error body: Glance, Rackspace and Keystone shapes, or raw text."""
    try:
        body = response.json()
    except ValueError:
        return _plain(re.sub(r"<[^>]*>", " ", response.text or ""))
    return _plain(_message_in(body))


def _message_in(body: object) -> str:
    if not isinstance(body, dict):
        return ""
    if isinstance(body.get("message"), str):  # Glance (WebOb): {"message", "code", "title"}
        return body["message"]
    # Keystone {"error": {...}} and Rackspace faults {"overLimit": {...}}, {"unauthorized": ...}
    for value in body.values():
        if isinstance(value, dict) and isinstance(value.get("message"), str):
            return value["message"]
    return ""


def _plain(text: str) -> str:
    # Glance's messages end in literal "<br /><br />\n\n\n" (docs/glance.md §1).
    text = re.sub(r"<br\s*/?>", " ", text, flags=re.IGNORECASE)
    text = " ".join(text.split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def is_member_limit(response: requests.Response) -> bool:
    return response.status_code == 413 and MEMBER_LIMIT_TEXT in upstream_message(response).lower()


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        seconds = float(value)  # the standard says integers; fractions help tests and do no harm
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def error_from_response(response: requests.Response) -> CloudError:
    """The error for a response with a 4xx or 5xx status."""
    status = response.status_code
    text = upstream_message(response)
    message = text or f"The cloud answered HTTP {status} {response.reason or ''}".strip() + "."
    request_id = request_id_of(response)
    if status == 413 and MEMBER_LIMIT_TEXT in text.lower():
        return MemberLimitReached(message, status=status, request_id=request_id)
    if status in (413, 429):
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return RateLimited(message, retry_after=retry_after, status=status, request_id=request_id)
    if status >= 500:
        return Unavailable(message, status=status, request_id=request_id)
    error_class = {
        400: BadRequest,
        401: Unauthorized,
        403: Forbidden,
        404: NotFound,
        409: AlreadyMember,
        415: BadRequest,
    }.get(status, CloudError)
    return error_class(message, status=status, request_id=request_id)
