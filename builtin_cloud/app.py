"""The built-in cloud as one WSGI application: identity plus Glance v2 for several regions.

Layout below `base_url`:
    /identity                             version discovery (300), /identity/v3, /identity/v2.0
    /identity/v2.0/tokens                 Rackspace Cloud Identity
    /identity/v3/auth/tokens              Keystone
    /identity/v3/projects[/{id}]          Keystone projects (and /v3/auth/projects)
    /{region}/images                      Glance root (versions); its API under /v2/...
"""

import json
import re
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from . import faults, glance, identity
from .faults import FakeTimeout
from .state import CloudState, version_tuple
from .web import (
    HttpError,
    Request,
    Response,
    glance_error,
    json_response,
    method_not_allowed,
)

StartResponse = Callable[..., Any]

# WebOb's explanation for a 401 (docs/glance-observed.md row 2).
UNAUTHORIZED = (
    "This server could not verify that you are authorized to access the document you "
    "requested. Either you supplied the wrong credentials (e.g., bad password), or your "
    "browser does not understand how to supply the credentials required."
)

_GLANCE_HANDLERS: dict[str, Callable[[glance.Call], Response]] = {
    "images_list": glance.list_images,
    "image_get": glance.get_image,
    "image_create": glance.create_image,
    "image_patch": glance.patch_image,
    "image_delete": glance.delete_image,
    "image_upload": glance.upload_image_data,
    "image_download": glance.download_image_data,
    "members_list": glance.list_members,
    "member_get": glance.get_member,
    "member_create": glance.create_member,
    "member_update": glance.update_member,
    "member_delete": glance.delete_member,
}


@dataclass(frozen=True)
class _Route:
    pattern: str
    methods: dict[str, str]  # HTTP method -> route name
    needs_token: bool = False
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", re.compile(self.pattern + r"\Z"))


_ROOT = r"/(?P<region>[a-z0-9]+)/images"
_IMAGE = _ROOT + r"/v2/images/(?P<image_id>[^/]+)"
_ROUTES = (
    _Route(_ROOT + r"/v2/schemas/(?P<schema>members?|images?)", {"GET": "schema"}, True),
    _Route(r"/identity/v2\.0/tokens", {"POST": "identity_rackspace"}),
    _Route(r"/identity/v3/auth/tokens", {"POST": "identity_keystone"}),
    _Route(r"/identity/?", {"GET": "identity_versions"}),
    _Route(r"/identity/(?P<version>v3|v2\.0)/?", {"GET": "identity_versions"}),
    _Route(r"/identity/v3/projects", {"GET": "identity_projects"}),
    _Route(r"/identity/v3/projects/(?P<project_id>[^/]+)", {"GET": "identity_projects"}),
    _Route(r"/identity/v3/auth/projects", {"GET": "identity_projects"}),
    _Route(r"/identity/v3/users/(?P<user_id>[^/]+)/projects", {"GET": "identity_projects"}),
    _Route(_ROOT + r"/?", {"GET": "versions"}),
    _Route(_ROOT + r"/versions", {"GET": "versions"}),
    _Route(_ROOT + r"/v2/images", {"GET": "images_list", "POST": "image_create"}, True),
    _Route(_IMAGE, {"GET": "image_get", "PATCH": "image_patch", "DELETE": "image_delete"}, True),
    _Route(_IMAGE + r"/file", {"GET": "image_download", "PUT": "image_upload"}, True),
    _Route(_IMAGE + r"/members", {"GET": "members_list", "POST": "member_create"}, True),
    _Route(
        _IMAGE + r"/members/(?P<member_id>[^/]+)",
        {"GET": "member_get", "PUT": "member_update", "DELETE": "member_delete"},
        True,
    ),
)


class FakeCloudApp:
    """A WSGI callable. `base_url` is where clients reach it; it may change (see server.py)."""

    def __init__(
        self,
        state: CloudState,
        base_url: str,
        regions: Sequence[str] = ("IAD", "DFW", "ORD"),
    ) -> None:
        self.state = state
        self.base_url = base_url.rstrip("/")
        self.regions = tuple(regions)  # the catalog's spelling, as a real Keystone keeps it

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        response = self.respond(Request.from_environ(environ))
        start_response(response.status_line, response.headers)
        return [response.body]

    def respond(self, request: Request) -> Response:
        """Answer one request. `FakeTimeout` and `FakeReset` escape for the transport."""
        try:
            response = self._dispatch(request)
        except HttpError as error:
            response = error.response(request.headers.get("accept"))
        if self._has_request_id(request, response):
            response.headers.append(("x-openstack-request-id", f"req-{uuid.uuid4()}"))
        return response

    def _has_request_id(self, request: Request, response: Response) -> bool:
        """Glance's context middleware sets the request id: the versions document, which
        bypasses it, and the 401s it answers have none (conformance run against Glance 33)."""
        identity = urlsplit(self.base_url).path.rstrip("/") + "/identity/"
        if response.status == 401 and not request.path.startswith(identity):
            return False
        try:
            route, _ = self._match(request.path)
        except HttpError:
            return True
        return "versions" not in route.methods.values()

    def _dispatch(self, request: Request) -> Response:
        route, params = self._match(request.path)
        name = route.methods.get(request.method)
        if name is None:
            if route.needs_token:
                self._caller(request)  # keystonemiddleware answers 401 before the router
            raise method_not_allowed(request.method, route.methods)
        fired = self.state.record_call(name)
        _sleep(faults.latency(fired, after=False))  # outside the lock: requests overlap
        late = faults.late_seconds(fired)
        if late is not None:
            # The client gives up now; the change is made later, as if the request had sat
            # in a queue past the client's read timeout. Its answer (even a 409) goes nowhere.
            self.state.defer(lambda: self._apply(name, request, params), late)
            raise FakeTimeout()
        faults.fail(fired, after=False)
        response = self._apply(name, request, params)
        # After-faults: the change is made, yet the client sees a failure.
        _sleep(faults.latency(fired, after=True))
        faults.fail(fired, after=True)
        return response

    def _apply(self, name: str, request: Request, params: dict[str, str]) -> Response:
        try:
            with self.state.transaction():
                response = self._handle(name, request, params)
                self._log_member_call(name, request, params, response.status)
                return response
        except HttpError as error:
            self._log_member_call(name, request, params, error.status)
            return error.response(request.headers.get("accept"))

    def _log_member_call(
        self, name: str, request: Request, params: dict[str, str], status: int
    ) -> None:
        if name in _MEMBER_CHANGES:
            self.state.log_member_call(
                name, params.get("image_id", ""), _member_of(name, request, params), status,
                request.headers.get("x-openstack-request-id", ""),
            )  # fmt: skip

    def _match(self, full_path: str) -> tuple[_Route, dict[str, str]]:
        prefix = urlsplit(self.base_url).path.rstrip("/")
        if full_path.startswith(prefix):
            path = full_path[len(prefix) :]
            for route in _ROUTES:
                found = route.regex.match(path)
                region = found and found.groupdict().get("region")
                if found and (
                    region is None or region.upper() in {r.upper() for r in self.regions}
                ):
                    return route, found.groupdict()
        raise glance_error(404, glance.NOT_FOUND)

    def _handle(self, name: str, request: Request, params: dict[str, str]) -> Response:
        if name == "identity_rackspace":
            return identity.rackspace_tokens(self._identity_call(request))
        if name == "identity_keystone":
            return identity.keystone_tokens(self._identity_call(request))
        if name == "identity_versions":
            return self._identity_versions(request, params.get("version"))
        if name == "identity_projects":
            return self._identity_projects(request, params)
        region = params["region"]
        if name == "versions":
            return self._versions(region, multiple_choices=not request.path.endswith("versions"))
        caller = self._caller(request)
        if request.method in ("GET", "DELETE") and request.body:
            raise glance_error(400, "A body is not expected with this request.")
        if name == "schema":
            return glance.get_schema(params["schema"])
        call = glance.Call(
            state=self.state,
            request=request,
            region=region.upper(),
            caller=caller,
            root=f"{self.base_url}/{region}/images",
            pre_ocata=self.state.pre_ocata,
            image_id=params.get("image_id", ""),
            member_id=params.get("member_id", ""),
        )
        return _GLANCE_HANDLERS[name](call)

    def _identity_versions(self, request: Request, version: str | None) -> Response:
        call = self._identity_call(request)
        if version == "v3":
            return identity.version_v3(call)
        if version == "v2.0":
            return identity.version_v2(call)
        return identity.versions(call)

    def _identity_projects(self, request: Request, params: dict[str, str]) -> Response:
        call = self._identity_call(request)
        if "project_id" in params:
            return identity.get_project(call, params["project_id"])
        if "user_id" in params:
            return identity.user_projects(call, params["user_id"])
        if request.path.endswith("/auth/projects"):
            return identity.auth_projects(call)
        return identity.list_projects(call)

    def _identity_call(self, request: Request) -> identity.IdentityCall:
        return identity.IdentityCall(self.state, request, self.base_url, self.regions)

    def _caller(self, request: Request) -> glance.Caller:
        value = request.headers.get("x-auth-token", "")
        token = self.state.valid_token(value) if value else None
        if token is None:
            raise glance_error(
                401,
                UNAUTHORIZED,
                [("WWW-Authenticate", f"Keystone uri='{self.base_url}/identity'")],
            )
        return glance.Caller(token.tenant_id, frozenset(token.roles))

    def _versions(self, region: str, *, multiple_choices: bool) -> Response:
        """`GET /versions` is 200 and `GET /` 300, with the same document (docs/glance.md §1)."""
        current = version_tuple(self.state.api_version)[1]
        href = f"{self.base_url}/{region}/images/v2/"
        versions = [
            {
                "id": f"v2.{minor}",
                "status": "CURRENT" if minor == current else "SUPPORTED",
                "links": [{"rel": "self", "href": href}],
            }
            for minor in range(current, -1, -1)
        ]
        return json_response(300 if multiple_choices else 200, {"versions": versions})


_MEMBER_CHANGES = frozenset({"member_create", "member_update", "member_delete"})


def _member_of(name: str, request: Request, params: dict[str, str]) -> str:
    """The member a call is about: in the URL, or for a create in its body."""
    if name != "member_create":
        return params.get("member_id", "")
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        return ""
    member = body.get("member") if isinstance(body, dict) else None
    return member if isinstance(member, str) else str(member or "")


def _sleep(seconds: float) -> None:
    if seconds > 0:
        time.sleep(seconds)
