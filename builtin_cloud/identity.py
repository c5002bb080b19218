"""Identity: Rackspace Cloud Identity v2.0 and Keystone v3 (docs/glance.md §4, §5)."""

import hmac
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .state import Account, CloudState, Token, User, stable_id
from .web import HttpError, Request, Response, json_response

DOMAIN = {"id": "default", "name": "Default"}


def rackspace_unauthorized() -> HttpError:
    message = "Unable to authenticate user with credentials provided."
    return HttpError(401, {"unauthorized": {"code": 401, "message": message}})


def keystone_unauthorized() -> HttpError:
    message = "The request you have made requires authentication."
    return HttpError(401, {"error": {"code": 401, "title": "Unauthorized", "message": message}})


@dataclass(frozen=True)
class IdentityCall:
    state: CloudState
    request: Request
    base_url: str
    regions: Sequence[str]


# Rackspace Cloud Identity v2.0


def rackspace_tokens(call: IdentityCall) -> Response:
    auth = _rackspace_auth(call.request)
    if "tenantId" in auth and "tenantName" in auth:
        raise _bad_request("Invalid request. Specify tenantId OR tenantName, not both.")
    if "RAX-KSKEY:apiKeyCredentials" in auth:
        username, secret = _rackspace_credentials(auth["RAX-KSKEY:apiKeyCredentials"], "apiKey")
        user = call.state.user(username)
        known, method = (user.api_key if user else None), "APIKEY"
    elif "passwordCredentials" in auth:
        username, secret = _rackspace_credentials(auth["passwordCredentials"], "password")
        user = call.state.user(username)
        known, method = (user.password if user else None), "PASSWORD"
    else:
        raise _bad_request("Invalid json request body")
    if user is None or not _same(known, secret):
        raise rackspace_unauthorized()
    wanted = auth.get("tenantId") or auth.get("tenantName")
    if wanted and wanted != user.tenant_id:
        raise rackspace_unauthorized()
    token = call.state.issue_token(user)
    return json_response(200, {"access": _rackspace_access(call, user, token, method)})


def _rackspace_auth(request: Request) -> dict[str, Any]:
    body = _json_or_none(request.body)
    auth = body.get("auth") if isinstance(body, dict) else None
    if not isinstance(auth, dict):
        raise _bad_request("Invalid json request body")
    return auth


def _rackspace_credentials(credentials: Any, secret_field: str) -> tuple[str, str]:
    if not isinstance(credentials, dict):
        raise _bad_request("Invalid json request body")
    username, secret = credentials.get("username"), credentials.get(secret_field)
    if not isinstance(username, str) or not isinstance(secret, str):
        raise _bad_request(f"Expecting username and {secret_field}")
    return username, secret


def _rackspace_access(call: IdentityCall, user: User, token: Token, method: str) -> dict[str, Any]:
    tenant = user.tenant_id
    expires = datetime.fromtimestamp(token.expires_at, UTC)
    # Cloud Images URLs end in /v2 with no tenant; Cloud Servers URLs carry /v2/{tenant}.
    # The unrelated service comes first so that a client must choose by `type`.
    catalog = [
        {
            "name": "cloudServersOpenStack",
            "type": "compute",
            "endpoints": [
                {
                    "publicURL": f"{call.base_url}/{region.lower()}/servers/v2/{tenant}",
                    "region": region,
                    "tenantId": tenant,
                }
                for region in call.regions
            ],
        },
        {
            "name": "cloudImages",
            "type": "image",
            "endpoints": [
                {
                    "publicURL": f"{call.base_url}/{region.lower()}/images/v2",
                    "region": region,
                    "tenantId": tenant,
                }
                for region in call.regions
            ],
        },
    ]
    return {
        "token": {
            "id": token.token,
            "expires": expires.strftime("%Y-%m-%dT%H:%M:%S.")
            + f"{expires.microsecond // 1000:03d}Z",
            "tenant": {"id": tenant, "name": tenant},
            "RAX-AUTH:authenticatedBy": [method],
        },
        "serviceCatalog": catalog,
        "user": {
            "id": user.user_id,
            "name": user.username,
            "RAX-AUTH:defaultRegion": call.regions[0],
            "roles": _roles(user.roles),
        },
    }


def _bad_request(message: str) -> HttpError:
    return HttpError(400, {"badRequest": {"code": 400, "message": message}})


# Keystone v3


def keystone_tokens(call: IdentityCall) -> Response:
    body = _json_or_none(call.request.body)
    auth = body.get("auth") if isinstance(body, dict) else None
    if not isinstance(auth, dict):
        raise _keystone_bad_request("Expecting to find auth in request body.")
    identity = auth.get("identity")
    if not isinstance(identity, dict) or not isinstance(identity.get("methods"), list):
        raise _keystone_bad_request("Expecting to find identity in auth.")
    methods = identity["methods"]
    if methods == ["application_credential"]:
        if "scope" in auth:
            # The credential's project is the scope; Keystone refuses any other.
            raise keystone_unauthorized()
        user = _application_credential_user(call.state, identity.get("application_credential"))
        account = call.state.account(user.tenant_id)
    elif methods == ["password"]:
        user = _password_user(call.state, identity.get("password"))
        account = _scoped_account(call.state, auth.get("scope"), user)
    else:
        raise _keystone_bad_request("Expecting to find password or application_credential.")
    if account is None or account.tenant_id != user.tenant_id:
        raise keystone_unauthorized()
    token = call.state.issue_token(user)
    body = {"token": _keystone_token(call, user, account, token, methods)}
    if methods == ["application_credential"]:
        credential = identity["application_credential"]
        body["token"]["application_credential"] = {
            "id": credential["id"],
            "name": credential["id"],
            "restricted": True,
        }
    # The token travels in a header; the body only describes it (docs/glance.md §5).
    return json_response(201, body, [("X-Subject-Token", token.token)])


def _password_user(state: CloudState, password: Any) -> User:
    user_data = password.get("user") if isinstance(password, dict) else None
    if not isinstance(user_data, dict) or not isinstance(user_data.get("password"), str):
        raise _keystone_bad_request("Expecting to find user and password in password.")
    if "id" in user_data:
        user = state.user_by_id(str(user_data["id"]))
    elif "name" in user_data and _is_default_domain(user_data.get("domain")):
        user = state.user(str(user_data["name"]))
    else:
        raise keystone_unauthorized()
    if user is None or not _same(user.password, user_data["password"]):
        raise keystone_unauthorized()
    return user


def _application_credential_user(state: CloudState, credential: Any) -> User:
    if not isinstance(credential, dict) or not {"id", "secret"} <= credential.keys():
        raise _keystone_bad_request("Expecting to find id and secret in application_credential.")
    found = state.app_credential(str(credential["id"]))
    user = state.user(found[1]) if found else None
    if found is None or user is None or not _same(found[0], str(credential["secret"])):
        raise keystone_unauthorized()
    return user


def _scoped_account(state: CloudState, scope: Any, user: User) -> Account | None:
    """The project asked for, by id or by name (tenant id or account name) in the domain.

    Without a scope Keystone uses the user's default project.
    """
    if scope is None:
        return state.account(user.tenant_id)
    project = scope.get("project") if isinstance(scope, dict) else None
    if not isinstance(project, dict):
        raise keystone_unauthorized()  # domain and system scopes do not exist here
    if "id" in project:
        return state.account(str(project["id"]))
    if "name" in project and _is_default_domain(project.get("domain")):
        return state.account_named(str(project["name"]))
    raise keystone_unauthorized()


def _keystone_token(
    call: IdentityCall, user: User, account: Account, token: Token, methods: list[str]
) -> dict[str, Any]:
    expires = datetime.fromtimestamp(token.expires_at, UTC)
    return {
        "methods": methods,
        "user": {
            "domain": DOMAIN,
            "id": user.user_id,
            "name": user.username,
            "password_expires_at": None,
        },
        "audit_ids": [secrets.token_urlsafe(16)],
        "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "issued_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "project": {"domain": DOMAIN, "id": account.tenant_id, "name": account.name},
        "is_domain": False,
        "roles": _roles(user.roles),
        "catalog": _keystone_catalog(call),
    }


def _keystone_catalog(call: IdentityCall) -> list[dict[str, Any]]:
    """Public, internal and admin image endpoints per region; only the public one works here."""

    def endpoint(service: str, interface: str, region: str, url: str) -> dict[str, str]:
        return {
            "id": stable_id("endpoint", service, interface, region),
            "interface": interface,
            "region": region,
            "region_id": region,
            "url": url,
        }

    base = call.base_url
    image_endpoints = []
    for region in call.regions:
        lower = region.lower()
        image_endpoints += [
            endpoint("image", "public", region, f"{base}/{lower}/images"),
            endpoint("image", "internal", region, f"{base}/internal/{lower}/images"),
            endpoint("image", "admin", region, f"{base}/admin/{lower}/images"),
        ]
    compute_endpoints = [
        endpoint("compute", "public", region, f"{base}/{region.lower()}/compute/v2.1")
        for region in call.regions
    ]
    # Keystone lists itself unversioned, in every region, so that a client working in any
    # region finds it (e.g. the openstack CLI looking a project up).
    identity_endpoints = [
        endpoint("identity", interface, region, f"{base}/identity")
        for region in call.regions
        for interface in ("public", "internal", "admin")
    ]
    return [
        {
            "type": "identity",
            "name": "keystone",
            "id": stable_id("service", "identity"),
            "endpoints": identity_endpoints,
        },
        {
            "type": "compute",
            "name": "nova",
            "id": stable_id("service", "compute"),
            "endpoints": compute_endpoints,
        },
        {
            "type": "image",
            "name": "glance",
            "id": stable_id("service", "image"),
            "endpoints": image_endpoints,
        },
    ]


def _is_default_domain(domain: Any) -> bool:
    if not isinstance(domain, dict):
        return False
    return domain.get("id") == DOMAIN["id"] or str(domain.get("name", "")).lower() == "default"


def _keystone_bad_request(message: str) -> HttpError:
    return HttpError(400, {"error": {"code": 400, "title": "Bad Request", "message": message}})


# Version discovery (keystoneauth reads these before it authenticates)

_V3_MEDIA = [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}]
_V2_MEDIA = [{"base": "application/json", "type": "application/vnd.openstack.identity-v2.0+json"}]


def v3_version(base_url: str) -> dict[str, Any]:
    """Keystone's own v3 entry (keystone/api/discovery.py), at its current minor version."""
    return {
        "id": "v3.14",
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": f"{base_url}/identity/v3/"}],
        "media-types": _V3_MEDIA,
    }


def v2_version(base_url: str) -> dict[str, Any]:
    """The v2.0 entry as Keystone listed it while it served v2.0 (Rackspace still does)."""
    return {
        "id": "v2.0",
        "status": "deprecated",
        "updated": "2016-08-04T00:00:00Z",
        "links": [
            {"rel": "self", "href": f"{base_url}/identity/v2.0/"},
            {"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"},
        ],
        "media-types": _V2_MEDIA,
    }


def versions(call: IdentityCall) -> Response:
    """`GET /identity`: 300 Multiple Choices, v3 first, with a Location to it."""
    values = [v3_version(call.base_url), v2_version(call.base_url)]
    location = [("Location", f"{call.base_url}/identity/v3/")]
    return json_response(300, {"versions": {"values": values}}, location)


def version_v3(call: IdentityCall) -> Response:
    return json_response(200, {"version": v3_version(call.base_url)})


def version_v2(call: IdentityCall) -> Response:
    return json_response(200, {"version": v2_version(call.base_url)})


# Keystone v3 projects, with Keystone's default policies for a project-scoped token:
# listing projects needs admin (a project user gets 403 and clients fall back to the id they
# were given); a project user may show only the project of its token.


def list_projects(call: IdentityCall) -> Response:
    token = _keystone_token_or_401(call)
    if "admin" not in token.roles:
        raise keystone_forbidden("identity:list_projects")
    filters = {key: value for key, value in call.request.query if key in ("name", "domain_id")}
    projects = [
        _project(call, account)
        for account in call.state.accounts()
        if all(_project(call, account)[key] == value for key, value in filters.items())
    ]
    return _projects_response(call, projects)


def get_project(call: IdentityCall, project_id: str) -> Response:
    token = _keystone_token_or_401(call)
    if "admin" not in token.roles and project_id != token.tenant_id:
        raise keystone_forbidden("identity:get_project")
    account = call.state.account(project_id)
    if account is None:
        raise _keystone_error(404, "Not Found", f"Could not find project: {project_id}.")
    return json_response(200, {"project": _project(call, account)})


def auth_projects(call: IdentityCall) -> Response:
    """`GET /v3/auth/projects`: the projects the token's user has a role on (its own)."""
    token = _keystone_token_or_401(call)
    return _projects_response(call, _own_projects(call, token))


def user_projects(call: IdentityCall, user_id: str) -> Response:
    token = _keystone_token_or_401(call)
    user = call.state.user(token.username)
    if "admin" not in token.roles and (user is None or user.user_id != user_id):
        raise keystone_forbidden("identity:list_user_projects")
    owner = call.state.user_by_id(user_id)
    if owner is None:
        raise _keystone_error(404, "Not Found", f"Could not find user: {user_id}.")
    account = call.state.account(owner.tenant_id)
    return _projects_response(call, [_project(call, account)] if account else [])


def _own_projects(call: IdentityCall, token: Token) -> list[dict[str, Any]]:
    account = call.state.account(token.tenant_id)
    return [_project(call, account)] if account else []


def _projects_response(call: IdentityCall, projects: list[dict[str, Any]]) -> Response:
    url = f"{call.base_url}{call.request.path}"
    links = {"self": url, "previous": None, "next": None}
    return json_response(200, {"projects": projects, "links": links})


def _project(call: IdentityCall, account: Account) -> dict[str, Any]:
    return {
        "id": account.tenant_id,
        "name": account.name,
        "domain_id": DOMAIN["id"],
        "description": "",
        "enabled": True,
        "parent_id": DOMAIN["id"],
        "is_domain": False,
        "tags": [],
        "options": {},
        "links": {"self": f"{call.base_url}/identity/v3/projects/{account.tenant_id}"},
    }


def _keystone_token_or_401(call: IdentityCall) -> Token:
    value = call.request.headers.get("x-auth-token", "")
    token = call.state.valid_token(value) if value else None
    if token is None:
        raise keystone_unauthorized()
    return token


def keystone_forbidden(action: str) -> HttpError:
    message = f"You are not authorized to perform the requested action: {action}."
    return _keystone_error(403, "Forbidden", message)


def _keystone_error(status: int, title: str, message: str) -> HttpError:
    return HttpError(status, {"error": {"code": status, "title": title, "message": message}})


# Shared


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _roles(roles: Sequence[str]) -> list[dict[str, str]]:
    return [{"id": stable_id("role", role), "name": role} for role in roles]


def _same(known: str | None, given: str) -> bool:
    """A constant-time comparison; a user without that kind of secret never matches."""
    return known is not None and hmac.compare_digest(known.encode(), given.encode())
