"""Every endpoint for every role, and for another team's token: the same ladder as the pages
(viewer < member < admin), 404 for another team, 401 without a valid token."""

import pytest

from sharing import services
from sharing.models import ApprovalPolicy

from .api import ApiClient, token_for
from .conftest import ACME, GLOBEX, INITECH, acme_image

ROLES = ["alice", "bob", "carol", "dave", "nobody"]


@pytest.fixture
def world(cloud, team, alice, bob, carol, dave, other_team):
    """An image shared with Initech, a request from bob for Globex, and an incoming share."""
    image_id = acme_image(cloud)
    services.image_share(team=team, actor=alice, region="IAD", image_id=image_id, tenants=[INITECH])
    request = services.access_request_create(
        team=team, region="IAD", image_id=image_id, tenant=GLOBEX, justification="pilot",
        requested_by=bob,
    )  # fmt: skip
    offered = cloud.create_image(owner=GLOBEX, name="Globex appliance")["id"]
    cloud.add_member(offered, ACME, "pending")
    users = {"alice": alice, "bob": bob, "carol": carol}
    secrets = {name: token_for(user, team) for name, user in users.items()}
    secrets["dave"] = token_for(dave, other_team)
    secrets["nobody"] = None
    return {"image": image_id, "request": request.pk, "offered": offered, "secrets": secrets}


# (method, path, body, expected status for alice, bob, carol, dave, no token)
ENDPOINTS = [
    ("GET", "images/", None, [200, 200, 200, 404, 401]),
    ("GET", "images/{image}/members/", None, [200, 200, 200, 404, 401]),
    # bob, a member, may not share directly under the default policy: his share is a request.
    (
        "POST",
        "images/{image}/members/",
        {"tenants": ["100004"], "note": "customer build"},
        [200, 202, 403, 404, 401],
    ),
    ("DELETE", "images/{image}/members/" + INITECH + "/", None, [200, 403, 403, 404, 401]),
    ("GET", "incoming/", None, [200, 200, 200, 404, 401]),
    ("POST", "incoming/{offered}/", {"status": "accepted"}, [200, 403, 403, 404, 401]),
    ("GET", "requests/", None, [200, 200, 200, 404, 401]),
    (
        "POST",
        "requests/",
        {"image_id": "{image}", "member": INITECH + "0", "justification": "trial"},
        [201, 201, 201, 404, 401],
    ),
    ("GET", "requests/{request}/", None, [200, 200, 200, 404, 401]),
    ("POST", "requests/{request}/approve/", {"note": "ok"}, [200, 403, 403, 404, 401]),
    ("POST", "requests/{request}/reject/", {"note": "no"}, [200, 403, 403, 404, 401]),
    ("GET", "history/", None, [200, 200, 200, 404, 401]),
]

CASES = [
    pytest.param(method, path, body, role, expected[index], id=f"{method} {path} as {role}")
    for method, path, body, expected in ENDPOINTS
    for index, role in enumerate(ROLES)
]


def _fill(value, world):
    if isinstance(value, str):
        return value.format(**world)
    if isinstance(value, dict):
        return {key: _fill(item, world) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, world) for item in value]
    return value


@pytest.mark.parametrize(("method", "path", "body", "role", "expected"), CASES)
def test_each_role_gets_what_the_pages_would_give_it(world, method, path, body, role, expected):
    api = ApiClient(world["secrets"][role])
    response = api.call(method, "/api/v1/teams/acme/" + _fill(path, world), _fill(body, world))
    assert response.status_code == expected, response.content
    if expected >= 400:
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["status"] == expected


@pytest.mark.parametrize("path", ["images/", "history/", "requests/"])
def test_a_token_for_acme_does_not_open_another_team(world, path, dave):
    api = ApiClient(world["secrets"]["alice"])
    assert api.get(f"/api/v1/teams/umbrella/{path}").status_code == 404


def test_a_token_follows_its_users_current_role(world, team, alice):
    bob_token = world["secrets"]["bob"]
    api = ApiClient(bob_token)
    path = f"/api/v1/teams/acme/images/{world['image']}/members/{INITECH}/"
    assert api.delete(path).status_code == 403
    team.memberships.filter(user__username="bob").update(role="admin")
    assert api.delete(path).status_code == 200
    team.memberships.filter(user__username="bob").delete()
    assert api.get("/api/v1/teams/acme/images/").status_code == 404


def test_an_admin_under_four_eyes_gets_requests_not_shares(world, team, cloud):
    team.approval_policy = ApprovalPolicy.EVERYONE
    team.save()
    api = ApiClient(world["secrets"]["alice"])
    response = api.post(
        f"/api/v1/teams/acme/images/{world['image']}/members/", {"tenants": [INITECH + "1"]}
    )
    assert response.status_code == 202
    [made] = response.json()["requests"]
    assert made["member"] == INITECH + "1"
    assert made["status"] == "pending"
    assert cloud.member_status(world["image"], INITECH + "1") is None
