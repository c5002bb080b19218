"""Share or request: the image page and the API take the same decision for the same person,
policy and input, because both ask one service (sharing/services/policy.py)."""

import pytest

from sharing.models import AccessRequest, ApprovalPolicy, Channel

from .api import ApiClient, token_for
from .conftest import GLOBEX, acme_image

# What a *Share* of one tenant does, by role and policy, given a note (the why).
EXPECTED = {
    ("admin", ApprovalPolicy.MEMBERS): "shared",
    ("admin", ApprovalPolicy.EVERYONE): "requested",  # four-eyes: for another admin
    ("member", ApprovalPolicy.MEMBERS): "requested",
    ("member", ApprovalPolicy.EVERYONE): "requested",
    ("viewer", ApprovalPolicy.MEMBERS): "refused",  # viewers ask on the request form
    ("viewer", ApprovalPolicy.EVERYONE): "refused",
}


def _what_happened(cloud, image_id: str, status: int) -> str:
    if cloud.member(image_id, GLOBEX) is not None:
        return "shared"
    if AccessRequest.objects.filter(image_id=image_id, tenant=GLOBEX).exists():
        return "requested"
    return "refused" if status == 403 else f"nothing ({status})"


def _by_browser(client, user, cloud, note: str) -> str:
    image_id = acme_image(cloud, name="for-the-browser")
    client.force_login(user)
    body = {"members": GLOBEX, "note": note}
    response = client.post(f"/t/acme/images/{image_id}/share/?region=IAD", body)
    return _what_happened(cloud, image_id, response.status_code)


def _by_api(team, user, cloud, note: str) -> str:
    image_id = acme_image(cloud, name="for-the-api")
    api = ApiClient(token_for(user, team))
    body = {"tenants": [GLOBEX], "note": note}
    response = api.post(f"/api/v1/teams/acme/images/{image_id}/members/", body)
    return _what_happened(cloud, image_id, response.status_code)


@pytest.fixture
def cast(alice, bob, carol) -> dict:
    return {"admin": alice, "member": bob, "viewer": carol}


@pytest.mark.parametrize("policy", [ApprovalPolicy.MEMBERS, ApprovalPolicy.EVERYONE])
@pytest.mark.parametrize("role", ["admin", "member", "viewer"])
def test_the_page_and_the_api_share_or_request_alike(client, team, cloud, cast, role, policy):
    team.approval_policy = policy
    team.save()
    user = cast[role]
    browser = _by_browser(client, user, cloud, note="Globex pilot")
    api = _by_api(team, user, cloud, note="Globex pilot")
    assert (browser, api) == (EXPECTED[role, policy], EXPECTED[role, policy])


@pytest.mark.parametrize("policy", [ApprovalPolicy.MEMBERS, ApprovalPolicy.EVERYONE])
def test_a_members_share_without_a_why_files_nothing_on_either_side(
    client, team, cloud, bob, policy
):
    team.approval_policy = policy
    team.save()
    assert _by_browser(client, bob, cloud, note="") == "nothing (302)"  # to the request form
    assert _by_api(team, bob, cloud, note="") == "nothing (400)"


def test_an_admins_four_eyes_share_may_go_without_a_note_on_either_side(client, team, cloud, alice):
    team.approval_policy = ApprovalPolicy.EVERYONE
    team.save()
    assert _by_browser(client, alice, cloud, note="") == "requested"
    assert _by_api(team, alice, cloud, note="") == "requested"
    reasons = set(AccessRequest.objects.values_list("justification", flat=True))
    assert reasons == {"Shared by an admin under the team's four-eyes policy."}


def test_a_members_requests_are_the_same_whichever_way_they_came(client, team, cloud, bob):
    _by_browser(client, bob, cloud, note="Globex pilot")
    _by_api(team, bob, cloud, note="Globex pilot")
    made = AccessRequest.objects.order_by("id")
    assert [(r.tenant, r.justification, r.requested_by) for r in made] == [
        (GLOBEX, "Globex pilot", bob),
        (GLOBEX, "Globex pilot", bob),
    ]
    channels = [r.entries.get().channel for r in made]
    assert channels == [Channel.WEB, Channel.API]
