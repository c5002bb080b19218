"""A minimal request/response layer for the built-in cloud, and the errors it raises."""

import html
import json
import re
from collections.abc import Callable, Iterable, Mapping
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
        if "chunked" in headers.get("transfer-encoding", "").lower():
            # glanceclient streams image data so; uWSGI before Glance decodes it, wsgiref not.
            body = _read_chunked(environ["wsgi.input"])
        else:
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


def _read_chunked(stream: Any) -> bytes:
    """A request body in HTTP/1.1 chunked transfer coding (RFC 9112 §7.1)."""
    body = bytearray()
    while True:
        size_line = stream.readline(1024)
        if not size_line:
            break
        size = int(size_line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while stream.readline(1024) not in (b"\r\n", b"\n", b""):
                pass  # trailer fields
            break
        body += stream.read(size)
        stream.readline(1024)  # the CRLF after the chunk
    return bytes(body)


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
    """An error answer: raised anywhere in a handler, rendered by the app.

    Its body is JSON whatever the client accepts, as Keystone, Rackspace Identity and
    Rackspace's rate-limiting proxy answer; `GlanceError` varies with the Accept header.
    """

    def __init__(self, status: int, body: Any, headers: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = list(headers)

    def response(self, accept: str | None = None) -> Response:
        return json_response(self.status, self.body, self.headers)


class GlanceError(HttpError):
    """An error as Glance's WebOb renders it: HTML, JSON or plain text by the Accept header.

    WebOb fills `{explanation}<br /><br />\n{detail}\n\n` and then offers text/html and
    application/json in that order: no Accept header at all (or one that accepts neither)
    gets text/plain, `*/*` or an unreadable header gets HTML, `application/json` gets
    `{"message", "code", "title"}` (seen against Glance 33 in the conformance run).
    """

    def __init__(
        self,
        status: int,
        explanation: str,
        detail: str = "",
        headers: Iterable[tuple[str, str]] = (),
        *,
        text: str | None = None,
    ) -> None:
        self.explanation = explanation
        self.detail = detail
        self.text = text  # a message Glance writes by hand, not through the template
        message = text if text is not None else f"{explanation}<br /><br />\n{detail}\n\n"
        body = {"message": message, "code": f"{status} {title(status)}", "title": title(status)}
        super().__init__(status, body, headers)

    def response(self, accept: str | None = None) -> Response:
        kind = error_media_type(accept)
        if kind == "application/json":
            return Response(
                self.status,
                json.dumps(self.body).encode(),
                [("Content-Type", "application/json"), *self.headers],
            )
        status_line = f"{self.status} {title(self.status)}"
        if kind == "text/html":
            body = self._body(_html_escape)
            page = (
                f"<html>\n <head>\n  <title>{status_line}</title>\n </head>\n <body>\n"
                f"  <h1>{status_line}</h1>\n  {body}\n </body>\n</html>"
            )
        else:
            page = f"{status_line}\n\n{_strip_tags(self._body(str))}"
        return Response(
            self.status,
            page.encode("utf-8"),
            [("Content-Type", f"{kind}; charset=UTF-8"), *self.headers],
        )

    def _body(self, escape: Callable[[str], str]) -> str:
        if self.text is not None:
            return self.text
        return f"{escape(self.explanation)}<br /><br />\n{escape(self.detail)}\n\n"


def glance_error(
    status: int,
    message: str,
    headers: Iterable[tuple[str, str]] = (),
    *,
    detail: str = "",
) -> GlanceError:
    """An error as Glance sends it, `<br />` junk included.

    Most Glance errors set only WebOb's explanation; a few keep WebOb's default explanation
    and put theirs in `detail` (e.g. "Access was denied to this resource." for a 403).
    """
    return GlanceError(status, message, detail, headers)


def unsupported_media_type(
    media_type: str | None, detail: str, headers: Iterable[tuple[str, str]] = ()
) -> GlanceError:
    """WebOb's 415, whose own template puts the media type first and Glance's text after."""
    text = (
        f"The request media type {media_type} is not supported by this server.\n"
        f"<br /><br />\n{detail}"
    )
    return GlanceError(415, "", headers=headers, text=text)


def method_not_allowed(method: str, allowed: Iterable[str]) -> GlanceError:
    """WebOb's 405, with its own template (and an Allow header, as Glance's router sends)."""
    text = f"The method {method} is not allowed for this resource. <br /><br />\n"
    return GlanceError(405, "", headers=[("Allow", ", ".join(allowed))], text=text)


def error_media_type(accept: str | None) -> str:
    """What WebOb 1.8 answers an error with, for this Accept header."""
    if accept is None or not accept.strip():
        return "text/plain"
    offers = ("text/html", "application/json")
    ranges = []
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        if not _MEDIA_RANGE.fullmatch(media):
            return "text/html"  # an invalid header accepts everything: the first offer
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    return "text/html"
        ranges.append((media.lower(), quality))
    scored = []
    for index, offer in enumerate(offers):
        kind = offer.split("/")[0]
        best: tuple[int, float] | None = None  # (specificity, quality)
        for media, quality in ranges:
            specificity = {offer: 3, f"{kind}/*": 2, "*/*": 1}.get(media)
            if specificity and (best is None or specificity > best[0]):
                best = (specificity, quality)
        if best and best[1] > 0:
            scored.append((-best[1], index, offer))
    return min(scored)[2] if scored else "text/plain"


_MEDIA_RANGE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+/[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _html_escape(text: str) -> str:
    return html.escape(text, quote=True).encode("ascii", "xmlcharrefreplace").decode("ascii")


def _strip_tags(text: str) -> str:
    """WebOb's plain-text rendering: newlines become spaces, then `<br />` newlines."""
    text = text.replace("\n", " ").replace("\r", "")
    text = re.sub(r"<br.*?>", "\n", text, flags=re.I | re.S)
    text = re.sub(r"<!--|-->", "", text)
    return re.sub(r"<.*?>", "", text, flags=re.S)


def parse_json(body: bytes) -> Any:
    """The JSON body, or 400 with Glance's text (docs/glance-observed.md row 49)."""
    try:
        return json.loads(body)
    except ValueError:
        raise glance_error(400, "Malformed JSON in request body.") from None
