"""The built-in cloud on a real socket, where timeouts stall and resets really reset.

`serve()` is for the demo (`manage.py fakecloud`); `running_server()` for tests that need a
real connection, e.g. to see a read timeout or a connection reset.
"""

import logging
import socket
import struct
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from socketserver import ThreadingMixIn
from typing import Any, cast
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from .app import FakeCloudApp
from .faults import FakeReset, FakeTimeout

logger = logging.getLogger(__name__)
_CONNECTION = "fakecloud.connection"


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    block_on_close = False  # a stalled handler must not hold up shutdown

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stopping = threading.Event()
        self._to_reset: set[socket.socket] = set()
        self._to_reset_lock = threading.Lock()

    def reset_on_close(self, connection: socket.socket) -> None:
        with self._to_reset_lock:
            self._to_reset.add(connection)

    def shutdown_request(self, request: Any) -> None:
        with self._to_reset_lock:
            reset = request in self._to_reset
            self._to_reset.discard(request)
        if not reset:
            super().shutdown_request(request)
            return
        # Linger 0 and no shutdown(): close() sends RST instead of FIN.
        request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        request.close()


class _Handler(WSGIRequestHandler):
    def get_environ(self) -> dict[str, Any]:
        environ = super().get_environ()
        environ[_CONNECTION] = self.connection
        return environ

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)


def _transport_faults(app: FakeCloudApp, server: _Server) -> Callable[..., Iterable[bytes]]:
    """Turn the app's FakeTimeout/FakeReset into a stalled or reset connection."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            return app(environ, start_response)
        except FakeTimeout as exc:
            server.stopping.wait(exc.seconds)
            # wsgiref drops the connection quietly on this error, without a response.
            raise ConnectionAbortedError("fake cloud timeout") from exc
        except FakeReset as exc:
            server.reset_on_close(environ[_CONNECTION])
            raise ConnectionResetError("fake cloud reset") from exc

    return wrapped


def _make(app: FakeCloudApp, host: str, port: int) -> _Server:
    server = cast(
        _Server, make_server(host, port, app, server_class=_Server, handler_class=_Handler)
    )
    server.set_app(_transport_faults(app, server))
    return server


def serve(app: FakeCloudApp, host: str = "127.0.0.1", port: int = 8774) -> None:
    """Serve until interrupted. `app.base_url` must be the address clients use."""
    server = _make(app, host, port)
    try:
        server.serve_forever()
    finally:
        server.stopping.set()
        server.server_close()


@contextmanager
def running_server(app: FakeCloudApp) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 and an ephemeral port in a daemon thread; yield its base URL.

    The app's `base_url` is pointed at the server (so catalogs and links are right) and put
    back afterwards.
    """
    server = _make(app, "127.0.0.1", 0)
    previous, app.base_url = app.base_url, f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-cloud", daemon=True
    )
    thread.start()
    try:
        yield app.base_url
    finally:
        server.stopping.set()  # wakes handlers stalled by a timeout fault
        server.shutdown()
        server.server_close()
        thread.join()
        app.base_url = previous
