"""A `requests` transport that hands requests to the built-in cloud in-process.

Mount it on a normal `requests.Session` and the client code runs unchanged: the same URLs,
headers, status codes and exceptions as over the network.
"""

import io
import sys
from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from urllib3.response import HTTPResponse

from .faults import FakeReset, FakeTimeout

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class FakeCloudAdapter(BaseAdapter):
    def __init__(self, app: WSGIApp) -> None:
        super().__init__()
        self.app = app

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        started: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
            started["status"], started["headers"] = status, headers

        try:
            body = b"".join(self.app(_environ(request), start_response))
        except FakeTimeout as exc:
            raise requests.exceptions.ReadTimeout(str(exc), request=request) from exc
        except FakeReset as exc:
            reset = ConnectionResetError(104, "Connection reset by peer")
            raise requests.exceptions.ConnectionError(reset, request=request) from exc
        return self._response(request, started["status"], started["headers"], body)

    def close(self) -> None:
        """Nothing to release: there is no connection pool."""

    def _response(
        self,
        request: requests.PreparedRequest,
        status_line: str,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> requests.Response:
        code = int(status_line.split(" ", 1)[0])
        reason = HTTPStatus(code).phrase
        response = requests.Response()
        response.status_code = code
        response.reason = reason
        response.headers = CaseInsensitiveDict(headers)
        response.encoding = get_encoding_from_headers(response.headers)
        response.raw = HTTPResponse(
            body=io.BytesIO(body),
            headers=dict(headers),
            status=code,
            reason=reason,
            preload_content=False,
            decode_content=False,
        )
        response.url = request.url or ""
        response.request = request
        response.connection = self  # type: ignore[assignment]  # not an HTTPAdapter: no pool
        return response


def _environ(request: requests.PreparedRequest) -> dict[str, Any]:
    url = urlsplit(request.url or "")
    body = _body_bytes(request.body)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method or "GET",
        "SCRIPT_NAME": "",
        # PEP 3333: the path is percent-decoded and carried as latin-1.
        "PATH_INFO": unquote(url.path, encoding="latin-1") or "/",
        "QUERY_STRING": url.query,
        "SERVER_NAME": url.hostname or "localhost",
        "SERVER_PORT": str(url.port or (443 if url.scheme == "https" else 80)),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_LENGTH": str(len(body)) if body else "",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": url.scheme or "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in request.headers.items():
        key = name.upper().replace("-", "_")
        if key == "TRANSFER_ENCODING":
            continue  # the body is handed over whole, with its length
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = value
        else:
            environ[f"HTTP_{key}"] = value
    return environ


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, bytes):
        return body
    if hasattr(body, "read"):
        return body.read()
    return b"".join(chunk.encode() if isinstance(chunk, str) else chunk for chunk in body)
