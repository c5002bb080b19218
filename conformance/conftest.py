"""Fixtures of the client run: real Glance, the identity front before it, and accounts.

Each test makes its own projects (`project()`), so lists never see another test's images.
Images are made directly in Glance with identity headers (`glance`): the dashboard's client
has no call to create images, and the test should not need one.
"""

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
import requests
from builtin_cloud import running_server
from django.core.cache import cache
from sharing.cloud import CloudAccount

from front import SECRET, Front
from glance_server import running_glance


@pytest.fixture(scope="session")
def glance_url() -> Iterator[str]:
    url = os.environ.get("GLANCE_URL")
    if url:
        yield url.rstrip("/")
        return
    with running_glance() as url:
        yield url


@pytest.fixture(scope="session")
def _front(glance_url: str) -> Iterator[Front]:
    front = Front(glance_url)
    with running_server(front):  # sets front.base_url to http://127.0.0.1:<port>
        yield front


@pytest.fixture
def front(_front: Front) -> Iterator[Front]:
    _front.reset_log()
    yield _front
    _front.reset_log()


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Tokens live in Django's cache; each test authenticates afresh."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def project() -> Callable[[str], str]:
    """A new project name, unique to this test: `project("owner")` -> "owner-1a2b3c4d"."""
    return lambda prefix: f"{prefix}-{uuid.uuid4().hex[:8]}"


def rackspace(front: Front, project: str, kind: str = "rackspace-apikey") -> CloudAccount:
    return CloudAccount(kind, f"{front.base_url}/identity", project, SECRET)


def keystone(front: Front, project: str, kind: str = "keystone-password") -> CloudAccount:
    if kind == "keystone-appcred":
        return CloudAccount(kind, f"{front.base_url}/identity/v3", project, SECRET)
    return CloudAccount(kind, f"{front.base_url}/identity/v3", project, SECRET, project=project)


class Glance:
    """Set-up calls straight to Glance, as a project (identity headers, no front)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def request(self, project: str, method: str, path: str, **kwargs) -> requests.Response:
        headers = {
            "Accept": "application/json",
            "X-Identity-Status": "Confirmed",
            "X-Project-Id": project,
            "X-User-Id": f"user-{project}",
            "X-Roles": "member,reader",
            **kwargs.pop("headers", {}),
        }
        response = requests.request(method, self.url + path, headers=headers, timeout=30, **kwargs)
        response.raise_for_status()
        return response

    def image(self, owner: str, name: str, visibility: str = "shared", **properties: str) -> str:
        body = {"name": name, "disk_format": "raw", "container_format": "bare", **properties}
        body["visibility"] = visibility
        return self.request(owner, "POST", "/v2/images", json=body).json()["id"]

    def upload(self, owner: str, image_id: str, data: bytes) -> None:
        """Image data into the file store: the image becomes `active`."""
        headers = {"Content-Type": "application/octet-stream"}
        self.request(owner, "PUT", f"/v2/images/{image_id}/file", data=data, headers=headers)

    def member(self, owner: str, image_id: str, member: str) -> None:
        self.request(owner, "POST", f"/v2/images/{image_id}/members", json={"member": member})


@pytest.fixture(scope="session")
def glance(glance_url: str) -> Glance:
    return Glance(glance_url)
