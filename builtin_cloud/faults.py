"""How a fired fault shows itself to the client."""

from .state import DEFAULT_LATE_SECONDS, Fault
from .web import HttpError, glance_error

# WebOb's explanations for the usual server-side failures.
_EXPLANATIONS = {
    500: "The server has either erred or is incapable of performing the requested operation.",
    502: "Bad gateway.",
    503: "The server is currently unavailable. Please try again at a later time.",
    504: "The gateway has timed out.",
    429: "The client has sent too many requests in a given amount of time.",
}
# The stall of a `timeout` fault on a real socket, when the fault gives no `seconds`.
DEFAULT_STALL_SECONDS = 30.0


class FakeTimeout(Exception):
    """The cloud never answers. The transport turns this into a read timeout."""

    def __init__(self, seconds: float | None = None) -> None:
        super().__init__("The built-in cloud did not answer in time.")
        self.seconds = seconds or DEFAULT_STALL_SECONDS


class FakeReset(Exception):
    """The cloud drops the connection. The transport turns this into a connection reset."""

    def __init__(self) -> None:
        super().__init__("The built-in cloud reset the connection.")


def latency(faults: list[Fault], *, after: bool) -> float:
    return sum(f.seconds or 0.0 for f in faults if f.kind == "latency" and f.after == after)


def late_seconds(faults: list[Fault]) -> float | None:
    """The delay of a fired `late` fault, or None when none fired."""
    for fault in faults:
        if fault.kind == "late":
            return DEFAULT_LATE_SECONDS if fault.seconds is None else fault.seconds
    return None


def fail(faults: list[Fault], *, after: bool) -> None:
    """Raise the failure of the fired fault for this phase (before or after the change), if any."""
    for fault in faults:
        if fault.kind not in ("latency", "late") and fault.after == after:
            raise _failure(fault)


def _failure(fault: Fault) -> Exception:
    if fault.kind == "timeout":
        return FakeTimeout(fault.seconds)
    if fault.kind == "reset":
        return FakeReset()
    if fault.kind == "rate_limit":
        return _rate_limited(fault)
    status = fault.status or 503
    return glance_error(status, fault.message or _explanation(status))


def _rate_limited(fault: Fault) -> HttpError:
    """Rackspace's Repose proxy answers 413 `overLimit`; newer APIs 429 (docs/glance.md §4.4)."""
    status = fault.status or 413
    headers = [("Retry-After", fault.retry_after)] if fault.retry_after else []
    if status != 413:
        return glance_error(status, fault.message or _explanation(status), headers)
    body = {
        "overLimit": {
            "code": 413,
            "message": fault.message or "OverLimit Retry...",
            "details": "Error Details...",
            **({"retryAfter": fault.retry_after} if fault.retry_after else {}),
        }
    }
    return HttpError(413, body, headers)


def _explanation(status: int) -> str:
    return _EXPLANATIONS.get(status, "The server could not complete the request.")
