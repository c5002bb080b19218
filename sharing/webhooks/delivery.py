"""Sending one signed request: where it may go, how it is signed, what came back.

Plain Python over urllib3, no Django. The destination is resolved when the request is made
(a name may point elsewhere since it was saved), every address it resolves to is checked, and
the connection goes to the checked address, so a second lookup cannot swap it. No redirects
are followed, no cookies or credentials are sent, and no proxy from the environment is used.
"""

import ipaddress
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import urllib3
from standardwebhooks import Webhook

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

# Cloud metadata services: refused even where private addresses are allowed.
METADATA = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack
    ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
}
RESPONSE_HEAD_BYTES = 1024
USER_AGENT = "image-sharing-dashboard-webhooks/1"


class Refused(Exception):
    """The destination may not be called; the message says why."""


def system_resolver(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, by the system's resolver."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in found})


# Replaceable, so tests can make a name resolve to any address without real DNS.
resolver: Resolver = system_resolver


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    address: str
    path: str

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 address
        return host if self.port == default else f"{host}:{self.port}"


def target_of(url: str, *, allow_private: bool) -> Target:
    """Where a POST to `url` connects; Refused if the URL or any address it names may not."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused("Only http and https URLs are called.")
    if parts.username or parts.password:
        raise Refused("URLs with credentials are not called.")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = _addresses(parts.hostname, port)
    for address in addresses:
        check(address, allow_private=allow_private)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port, str(addresses[0]), path)


def _addresses(host: str, port: int) -> list[Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        found = [ipaddress.ip_address(a.split("%")[0]) for a in resolver(host, port)]
    except OSError as error:
        raise Refused(f"The name {host} did not resolve: {error}.") from None
    if not found:
        raise Refused(f"The name {host} did not resolve.")
    return found


def check(address: Address, *, allow_private: bool) -> None:
    mapped = getattr(address, "ipv4_mapped", None) or address
    if mapped in METADATA:
        raise Refused(f"{address} is a cloud metadata address.")
    if mapped.is_multicast or mapped.is_unspecified:
        raise Refused(f"{address} is not a single host.")
    if not mapped.is_global and not allow_private:
        raise Refused(f"{address} is a loopback, private or link-local address.")


def signature(secrets: list[str], message_id: str, moment: datetime, body: str) -> str:
    """The `webhook-signature` header: one `v1,<base64>` per secret, space-separated."""
    return " ".join(Webhook(secret).sign(message_id, moment, body) for secret in secrets)


def signed_headers(secrets: list[str], message_id: str, body: str) -> dict[str, str]:
    """The Standard Webhooks headers, stamped with the wall clock the receiver checks."""
    moment = datetime.fromtimestamp(int(time.time()), UTC)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signature(secrets, message_id, moment, body),
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }


@dataclass(frozen=True)
class Answer:
    status: int | None = None
    latency_ms: int = 0
    head: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post(url: str, body: str, headers: dict[str, str], *, timeout: float, allow_private: bool):
    """POST `body` to `url` once; the answer, or what went wrong, as an `Answer`."""
    try:
        target = target_of(url, allow_private=allow_private)
    except Refused as refused:
        return Answer(error=f"Refused: {refused}")
    started = time.perf_counter()
    try:
        response = _pool(target).urlopen(
            "POST",
            target.path,
            body=body.encode(),
            headers={**headers, "Host": target.host_header},
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
            timeout=urllib3.Timeout(total=timeout),
        )
        head = _head(response)
    except urllib3.exceptions.HTTPError as error:
        return Answer(latency_ms=_since(started), error=_error_text(error, timeout))
    return Answer(response.status, _since(started), head)


def _head(response: urllib3.BaseHTTPResponse) -> str:
    """The first bytes of the answer; the connection is kept only if nothing more is left."""
    head = response.read(RESPONSE_HEAD_BYTES)
    if response.read(1):
        response.close()
    else:
        response.release_conn()
    return head.decode(errors="replace")


def _since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def _error_text(error: Exception, timeout: float) -> str:
    if isinstance(error, urllib3.exceptions.TimeoutError):
        return f"No answer within {timeout:g} s."
    return f"Connection failed: {error}"[:300]


_pools: dict[tuple[str, str, int, str], urllib3.HTTPConnectionPool] = {}
_pools_lock = threading.Lock()


def _pool(target: Target) -> urllib3.HTTPConnectionPool:
    """A keep-alive pool per checked address (and, for https, the name its certificate has)."""
    key = (target.scheme, target.address, target.port, target.host)
    with _pools_lock:
        if key not in _pools:
            if target.scheme == "https":
                _pools[key] = urllib3.HTTPSConnectionPool(
                    target.address, target.port, maxsize=4,
                    server_hostname=target.host, assert_hostname=target.host,
                )  # fmt: skip
            else:
                _pools[key] = urllib3.HTTPConnectionPool(target.address, target.port, maxsize=4)
        return _pools[key]
