"""Test support: a built-in cloud with the cast of docs/glance-observed.md, reached over HTTP.

Tenants A, B and C have a user each with roles member and reader; `admin` has the admin role
in its own project. The variants `a-reader`, `b-reader` (reader only) and `b-noroles` (no roles)
reproduce the role rows of docs/glance-observed.md.
"""

from typing import Any

import requests

from builtin_cloud import CloudState, FakeCloudApp, make_session

BASE_URL = "http://fake-cloud.test"
PASSWORD = "correct horse"
A, B, C, ADMIN = "tenant-a", "tenant-b", "tenant-c", "tenant-admin"
_CAST = {
    "a": (A, ("member", "reader")),
    "a-reader": (A, ("reader",)),
    "b": (B, ("member", "reader")),
    "b-reader": (B, ("reader",)),
    "b-noroles": (B, ()),
    "c": (C, ("member", "reader")),
    "admin": (ADMIN, ("admin", "member", "reader")),
}


class GlanceClient:
    """One user's token and session, with paths relative to a region's endpoint root."""

    def __init__(self, session: requests.Session, root: str, token: str) -> None:
        self.session = session
        self.root = root
        self.token = token

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"X-Auth-Token": self.token, **kwargs.pop("headers", {})}
        kwargs.setdefault("timeout", 5)
        return self.session.request(method, self.root + path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def image_names(self, query: str = "") -> list[str]:
        response = self.get(f"/v2/images?limit=1000{query}")
        response.raise_for_status()
        return [image["name"] for image in response.json()["images"]]


class FakeCloud:
    """A fresh in-memory cloud with the cast, and a session that reaches it in-process."""

    def __init__(self, base_url: str = BASE_URL) -> None:
        self.state = CloudState()
        self.app = FakeCloudApp(self.state, base_url)
        self.session = make_session(self.app)
        for username, (tenant_id, roles) in _CAST.items():
            self.state.add_account(tenant_id, tenant_id.upper())
            self.state.add_user(username, tenant_id, password=PASSWORD, roles=roles)

    def login(self, username: str, session: requests.Session | None = None) -> str:
        """A token from the Rackspace identity API, over HTTP."""
        credentials = {"username": username, "password": PASSWORD}
        response = (session or self.session).post(
            f"{self.app.base_url}/identity/v2.0/tokens",
            json={"auth": {"passwordCredentials": credentials}},
            timeout=5,
        )
        response.raise_for_status()
        return response.json()["access"]["token"]["id"]

    def client(
        self, username: str, *, region: str = "IAD", session: requests.Session | None = None
    ) -> GlanceClient:
        session = session or self.session
        root = f"{self.app.base_url}/{region.lower()}/images"
        return GlanceClient(session, root, self.login(username, session))

    def image(self, owner: str, **fields: Any) -> str:
        """Seed an image directly (no HTTP) and return its id."""
        return self.state.create_image(owner=owner, **fields)["id"]
