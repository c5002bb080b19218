"""An identity front for real Glance, so that the dashboard's client can talk to it unchanged.

Real Glance here has no Keystone (see glance/glance-api-paste.ini): it believes identity
headers. This WSGI app stands where Rackspace Identity (or Keystone) and the image endpoint
would be, on 127.0.0.1:

    GET  /identity[/v3|/v2.0]        Keystone's version discovery (the built-in cloud's documents)
    POST /identity/v2.0/tokens       Rackspace Cloud Identity: API key or password
    POST /identity/v3/auth/tokens    Keystone v3: password (project scope) or app credential
    GET  /identity/v3/projects[/id]  Keystone's default policy for a project user: its own
                                     project only; listing projects is forbidden
    *    /glance/...                 proxy to Glance: the token becomes X-Identity-Status,
                                     X-Project-Id, X-User-Id and X-Roles

The catalogs have the shapes of the real ones: Rackspace's `publicURL` ends in `/v2`
(`{base}/glance/v2`), Keystone's public URL has no version (`{base}/glance`) and sits beside
internal and admin URLs that lead nowhere. So the client's choice of endpoint, its stripping of
`/v2` and its joining of root-relative links are all exercised; the proxy records every path
it forwards so that a test can see no `/v2/v2` ever reached Glance.

Users: any username is a user whose project is that name, with password/API key/application
credential secret `SECRET` and roles member,reader. Two prefixes change that:
`reader-...` has the reader role only; `ghost-...` gets tokens that the proxy forwards without
identity headers, so that Glance itself answers 401.

`Front.fail()` makes the proxy misbehave for matching requests (a status such as 429 or 503,
or a connection reset before or after forwarding): real Glance has no rate limits or outages
of its own, so this is the only way to prove the client's retries and its settling of an
unknown outcome, while the retried or settling calls still go to real Glance.
"""

import json
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from builtin_cloud import identity
from builtin_cloud.faults import FakeReset
from builtin_cloud.web import Request

SECRET = "conformance-secret"
REGION = "IAD"  # Rackspace-style catalog
KEYSTONE_REGION = "RegionOne"
TOKEN_TTL = timedelta(hours=24)
_FORWARDED_HEADERS = ("content-type", "accept", "x-openstack-request-id")
_RETURNED_HEADERS = (
    "content-type",
    "content-md5",
    "x-openstack-request-id",
    "location",
    "allow",
    "retry-after",
)


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]  # searched in the path after /glance
    kind: str  # "status", "reset-before", "reset-after"
    times: int
    status: int = 503
    retry_after: str | None = None
    body: Any = None


@dataclass(frozen=True)
class Token:
    project: str
    user: str
    roles: tuple[str, ...]
    ghost: bool


class Front:
    """The WSGI app. `base_url` is set by `running_server` to where it listens."""

    def __init__(self, glance_url: str) -> None:
        self.glance_url = glance_url.rstrip("/")
        self.base_url = "http://front.invalid"
        self.lock = threading.Lock()
        self.tokens: dict[str, Token] = {}
        self.faults: list[Fault] = []
        self.forwarded: list[tuple[str, str, int | str]] = []  # (method, path?query, status)
        self.token_requests = 0

    # Test controls

    def fail(
        self,
        method: str,
        path: str,
        kind: str = "status",
        *,
        times: int = 1,
        status: int = 503,
        retry_after: str | None = None,
        body: Any = None,
    ) -> None:
        with self.lock:
            self.faults.append(
                Fault(method, re.compile(path), kind, times, status, retry_after, body)
            )

    def revoke_tokens(self) -> None:
        """Every token issued so far is refused, as after it expires or is revoked."""
        with self.lock:
            self.tokens.clear()

    def reset_log(self) -> None:
        with self.lock:
            self.forwarded.clear()
            self.faults.clear()
            self.token_requests = 0

    # WSGI

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        request = Request.from_environ(environ)
        if request.method == "POST" and request.path == "/identity/v2.0/tokens":
            status, headers, body = self._rackspace(request)
        elif request.method == "POST" and request.path == "/identity/v3/auth/tokens":
            status, headers, body = self._keystone(request)
        elif request.method == "GET" and re.fullmatch(r"/identity(/v3|/v2\.0)?/?", request.path):
            status, headers, body = self._discovery(request.path)
        elif request.method == "GET" and request.path.startswith("/identity/v3/projects"):
            status, headers, body = self._projects(request)
        elif request.path.startswith("/glance/") or request.path == "/glance":
            status, headers, body = self._proxy(request, environ.get("QUERY_STRING", ""))
        else:
            status, headers, body = 404, [], _json_bytes({"error": "not found"})
        start_response(f"{status} {_reason(status)}", headers)
        return [body]

    # Identity

    def _issue(self, username: str) -> tuple[str, Token]:
        roles = ("reader",) if username.startswith("reader-") else ("member", "reader")
        token = Token(username, f"user-{username}", roles, username.startswith("ghost-"))
        value = secrets.token_hex(16)
        with self.lock:
            self.tokens[value] = token
            self.token_requests += 1
        return value, token

    def _rackspace(self, request: Request) -> tuple[int, list, bytes]:
        auth = _body(request).get("auth") or {}
        credentials = auth.get("RAX-KSKEY:apiKeyCredentials") or auth.get("passwordCredentials")
        secret = (credentials or {}).get("apiKey") or (credentials or {}).get("password")
        username = (credentials or {}).get("username")
        if not username or secret != SECRET:
            message = "Unable to authenticate user with credentials provided."
            return _json(401, {"unauthorized": {"code": 401, "message": message}})
        value, token = self._issue(username)
        expires = datetime.now(UTC) + TOKEN_TTL
        endpoints = [
            {"publicURL": f"{self.base_url}/glance/v2", "region": REGION, "tenantId": username},
            {"publicURL": f"{self.base_url}/nowhere/v2", "region": "DFW", "tenantId": username},
        ]
        access = {
            "token": {
                "id": value,
                "expires": expires.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "tenant": {"id": token.project, "name": token.project},
                "RAX-AUTH:authenticatedBy": ["APIKEY"],
            },
            "serviceCatalog": [
                {
                    "name": "cloudServersOpenStack",
                    "type": "compute",
                    "endpoints": [
                        {"publicURL": f"{self.base_url}/servers/v2/{username}", "region": REGION}
                    ],
                },
                {"name": "cloudImages", "type": "image", "endpoints": endpoints},
            ],
            "user": {"id": token.user, "name": username, "roles": []},
        }
        return _json(200, {"access": access})

    def _keystone(self, request: Request) -> tuple[int, list, bytes]:
        auth = _body(request).get("auth") or {}
        identity = auth.get("identity") or {}
        if identity.get("methods") == ["application_credential"]:
            credential = identity.get("application_credential") or {}
            username, secret = credential.get("id"), credential.get("secret")
            if "scope" in auth:
                username = None  # Keystone refuses a scope with an application credential
        else:
            user = (identity.get("password") or {}).get("user") or {}
            username, secret = user.get("name"), user.get("password")
            project = (auth.get("scope") or {}).get("project") or {}
            if project and username not in (project.get("name"), project.get("id")):
                username = None
        if not username or secret != SECRET:
            message = "The request you have made requires authentication."
            return _json(401, {"error": {"code": 401, "title": "Unauthorized", "message": message}})
        value, token = self._issue(username)
        expires = datetime.now(UTC) + TOKEN_TTL

        def endpoint(interface: str, url: str) -> dict[str, str]:
            return {
                "id": secrets.token_hex(8),
                "interface": interface,
                "region": KEYSTONE_REGION,
                "region_id": KEYSTONE_REGION,
                "url": url,
            }

        body = {
            "token": {
                "methods": identity.get("methods"),
                "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "project": {
                    "id": token.project,
                    "name": token.project,
                    "domain": {"id": "default"},
                },
                "user": {"id": token.user, "name": username, "domain": {"id": "default"}},
                "roles": [{"id": role, "name": role} for role in token.roles],
                "catalog": [
                    {
                        "type": "identity",
                        "name": "keystone",
                        "endpoints": [
                            endpoint(interface, f"{self.base_url}/identity")
                            for interface in ("admin", "internal", "public")
                        ],
                    },
                    {
                        "type": "image",
                        "name": "glance",
                        "endpoints": [
                            endpoint("admin", f"{self.base_url}/nowhere-admin"),
                            endpoint("internal", f"{self.base_url}/nowhere-internal"),
                            endpoint("public", f"{self.base_url}/glance"),
                        ],
                    },
                ],
            }
        }
        return _json(201, body, [("X-Subject-Token", value)])

    def _discovery(self, path: str) -> tuple[int, list, bytes]:
        version = path.removeprefix("/identity").strip("/")
        if version == "v3":
            return _json(200, {"version": identity.v3_version(self.base_url)})
        if version == "v2.0":
            return _json(200, {"version": identity.v2_version(self.base_url)})
        values = [identity.v3_version(self.base_url), identity.v2_version(self.base_url)]
        location = [("Location", f"{self.base_url}/identity/v3/")]
        return _json(300, {"versions": {"values": values}}, location)

    def _projects(self, request: Request) -> tuple[int, list, bytes]:
        with self.lock:
            token = self.tokens.get(request.headers.get("x-auth-token", ""))
        if token is None:
            message = "The request you have made requires authentication."
            return _json(401, {"error": {"code": 401, "title": "Unauthorized", "message": message}})
        project_id = request.path.removeprefix("/identity/v3/projects").strip("/")
        if project_id != token.project:
            action = "identity:get_project" if project_id else "identity:list_projects"
            message = f"You are not authorized to perform the requested action: {action}."
            return _json(403, {"error": {"code": 403, "title": "Forbidden", "message": message}})
        project = {
            "id": token.project,
            "name": token.project,
            "domain_id": "default",
            "description": "",
            "enabled": True,
            "parent_id": "default",
            "is_domain": False,
            "tags": [],
            "options": {},
            "links": {"self": f"{self.base_url}/identity/v3/projects/{token.project}"},
        }
        return _json(200, {"project": project})

    # The proxy

    def _proxy(self, request: Request, query: str) -> tuple[int, list, bytes]:
        path = request.path.removeprefix("/glance") or "/"
        target = path + (f"?{query}" if query else "")
        fault = self._fault(request.method, target)
        if fault and fault.kind == "reset-before":
            self._log(request.method, target, "reset")
            raise FakeReset()
        if fault and fault.kind == "status":
            self._log(request.method, target, fault.status)
            headers = [("Retry-After", fault.retry_after)] if fault.retry_after else []
            return _json(fault.status, fault.body or {"message": "Injected by the front."}, headers)
        headers = {k: v for k, v in request.headers.items() if k in _FORWARDED_HEADERS}
        if not path.startswith("/versions") and path != "/":
            value = request.headers.get("x-auth-token", "")
            with self.lock:
                token = self.tokens.get(value)
            if token is None:
                # keystonemiddleware's answer to a token it does not know.
                self._log(request.method, target, 401)
                message = "The request you have made requires authentication."
                return _json(
                    401,
                    {"error": {"code": 401, "title": "Unauthorized", "message": message}},
                    [("WWW-Authenticate", f"Keystone uri='{self.base_url}/identity'")],
                )
            if not token.ghost:
                headers |= {
                    "X-Identity-Status": "Confirmed",
                    "X-Project-Id": token.project,
                    "X-User-Id": token.user,
                    "X-Roles": ",".join(token.roles),
                }
        response = requests.request(
            request.method,
            self.glance_url + target,
            headers=headers,
            data=request.body or None,
            timeout=60,
            allow_redirects=False,
        )
        self._log(request.method, target, response.status_code)
        if fault and fault.kind == "reset-after":
            raise FakeReset()  # Glance did it; the client never hears
        returned = [(k, v) for k, v in response.headers.items() if k.lower() in _RETURNED_HEADERS]
        return response.status_code, returned, response.content

    def _fault(self, method: str, target: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.method == method and fault.path.search(target) and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def _log(self, method: str, target: str, status: int | str) -> None:
        with self.lock:
            self.forwarded.append((method, target, status))


def _body(request: Request) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _json_bytes(data: Any) -> bytes:
    return json.dumps(data).encode()


def _json(status: int, data: Any, headers: list | None = None) -> tuple[int, list, bytes]:
    return status, [("Content-Type", "application/json"), *(headers or [])], _json_bytes(data)


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
