"""A small webhook receiver that verifies every request with the `standardwebhooks` package:
the demo's (`manage.py webhook_receiver`), the tests' and the benchmark's.

Each request is checked against every secret it was given; `verified_by` lists the secrets
whose signature matched. What it answers can be changed (`respond`), to act as a receiver that
fails, hangs or redirects.
"""

import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified_by: list[str] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return bool(self.verified_by)

    @property
    def event(self) -> dict:
        return json.loads(self.body)


Reply = tuple[int, dict[str, str], bytes]
OK: Reply = (204, {}, b"")


class Receiver:
    def __init__(self, secrets: list[str], host: str = "127.0.0.1", port: int = 0) -> None:
        self.secrets = list(secrets)
        self.received: list[Received] = []
        self.respond: Callable[[Received], Reply] = lambda received: OK
        self.on_receive: Callable[[Received], None] = lambda received: None
        self._lock = threading.Lock()
        server_class = _IPv6Server if ":" in host else ThreadingHTTPServer
        self.server = server_class((host, port), _handler(self))
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        host = f"[{host!s}]" if ":" in str(host) else host
        return f"http://{host!s}:{port}/hook"

    def check(self, body: bytes, headers: dict[str, str]) -> Received:
        received = Received(headers, body)
        for secret in self.secrets:
            try:
                Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            received.verified_by.append(secret)
        with self._lock:
            self.received.append(received)
        self.on_receive(received)
        return received

    def types(self) -> list[str]:
        return [r.event["type"] for r in self.received]

    def __enter__(self) -> "Receiver":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver would

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            received = receiver.check(body, dict(self.headers.items()))
            status, headers, content = receiver.respond(received)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet; the command prints what it verified

    return Handler
