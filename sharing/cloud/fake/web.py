"""A minimal request/response layer for the built-in cloud, and the errors it raises."""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

Headers = list[tuple[str, str]]

# WebOb's titles, which Glance puts in `code` and `title` (Python 3.13 renamed 413).
_TITLES = {413: "Request Entity Too Large"}


def title(status: int) -> str:
    return _TITLES.get(status) or HTTPStatus(status).phrase


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: Mapping[str, str]  # lower-case names
    body: bytes

    @classmethod
    def from_environ(cls, environ: Mapping[str, Any]) -> "Request":
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        # PEP 3333: PATH_INFO holds the URL's bytes as latin-1; the URLs here are UTF-8.
        raw_path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        path = raw_path.encode("latin-1").decode("utf-8", errors="replace")
        return cls(
            method=environ["REQUEST_METHOD"].upper(),
            path=path or "/",
            query=parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True),
            headers=headers,
            body=body,
        )

    @property
    def media_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: Headers = field(default_factory=list)

    @property
    def status_line(self) -> str:
        return f"{self.status} {title(self.status)}"


def json_response(status: int, data: Any, headers: Iterable[tuple[str, str]] = ()) -> Response:
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    return Response(
        status,
        body,
        [("Content-Type", "application/json; charset=UTF-8"), *headers],
    )


class HttpError(Exception):
    """An error answer: raised anywhere in a handler, rendered by the app."""

    def __init__(self, status: int, body: Any, headers: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = list(headers)

    def response(self) -> Response:
        return json_response(self.status, self.body, self.headers)


def glance_error(
    status: int,
    message: str,
    headers: Iterable[tuple[str, str]] = (),
    *,
    detail: str = "",
) -> HttpError:
    """An error with WebOb's JSON body, `<br />` junk included, as Glance sends it.

    WebOb writes `{explanation}<br /><br />\n{detail}\n{comment}\n`: most Glance errors
    set only the explanation; a few keep WebOb's default explanation and put theirs in
    `detail` (e.g. "Access was denied to this resource." for a 403).
    """
    return exact_error(status, f"{message}<br /><br />\n{detail}\n\n", headers)


def exact_error(status: int, text: str, headers: Iterable[tuple[str, str]] = ()) -> HttpError:
    """An error whose `message` is `text` exactly, for the few Glance formats by hand."""
    body = {"message": text, "code": f"{status} {title(status)}", "title": title(status)}
    return HttpError(status, body, headers)


def parse_json(body: bytes) -> Any:
    """The JSON body, or 400 with Glance's text (glance-observed row 49)."""
    try:
        return json.loads(body)
    except ValueError:
        raise glance_error(400, "Malformed JSON in request body.") from None
