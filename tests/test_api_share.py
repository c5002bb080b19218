"""Sharing, revoking and answering incoming shares through the API: the same services and
ledger as the pages, entries marked `api`, cloud failures as problems with the request id."""

from datetime import timedelta

import pytest
from django.utils import timezone

from sharing.models import Action, Channel, LedgerEntry, Outcome, Share

from .api import ApiClient, token_for
from .conftest import ACME, GLOBEX, INITECH, acme_image


@pytest.fixture
def as_alice(team, alice) -> ApiClient:
    return ApiClient(token_for(alice, team))


@pytest.fixture
def image_id(cloud):
    return acme_image(cloud)


def members_url(image_id: str) -> str:
    return f"/api/v1/teams/acme/images/{image_id}/members/"


def test_a_pipeline_shares_with_several_tenants_and_the_ledger_says_api(as_alice, cloud, image_id):
    until = timezone.localdate() + timedelta(days=30)
    response = as_alice.post(
        members_url(image_id),
        {"tenants": [GLOBEX, INITECH], "until": until.isoformat(), "note": "build 42"},
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["tenant"] for r in results] == [GLOBEX, INITECH]
    for result in results:
        assert result["outcome"] == "succeeded"
        assert result["created"] is True
        assert result["status"] == "pending"
        assert result["request_id"].startswith("req-")
    assert cloud.member_status(image_id, GLOBEX) == "pending"
    entries = LedgerEntry.objects.filter(action=Action.SHARE)
    assert {(e.tenant, e.channel, e.actor_name, e.note) for e in entries} == {
        (GLOBEX, Channel.API, "alice", "build 42"),
        (INITECH, Channel.API, "alice", "build 42"),
    }
    record = Share.objects.get(tenant=GLOBEX)
    assert record.expires_at.date() == until


def test_sharing_again_says_already_shared(as_alice, image_id):
    as_alice.post(members_url(image_id), {"tenants": [GLOBEX]})
    [result] = as_alice.post(members_url(image_id), {"tenants": [GLOBEX]}).json()["results"]
    assert (result["created"], result["message"]) == (False, "Already shared (pending).")


def test_the_members_list_shows_who_shared_and_until_when(as_alice, image_id):
    until = timezone.localdate() + timedelta(days=7)
    as_alice.post(members_url(image_id), {"tenants": [GLOBEX], "until": until.isoformat()})
    [row] = as_alice.get(members_url(image_id)).json()["results"]
    assert (row["tenant"], row["status"], row["shared_by"]) == (GLOBEX, "pending", "alice")
    assert row["until"].startswith(until.isoformat())


def test_bad_input_is_a_400_problem_with_messages_per_field(as_alice, cloud, image_id):
    past = (timezone.localdate() - timedelta(days=1)).isoformat()
    response = as_alice.post(members_url(image_id), {"tenants": ["abc", ACME], "until": past})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "/api/v1/problems/invalid"
    assert problem["title"] and problem["status"] == 400 and problem["detail"]
    assert any("'abc' is not a Rackspace account number" in e for e in problem["errors"]["tenants"])
    assert any("own account" in e for e in problem["errors"]["tenants"])
    assert problem["errors"]["until"] == ["The end date is in the past."]
    assert cloud.calls("member_create") == 0


def test_a_body_of_the_wrong_shape_is_a_400_problem_too(as_alice, image_id):
    response = as_alice.post(members_url(image_id), {"tenants": "100002", "make_shared": "maybe"})
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"tenants", "make_shared"}


def test_a_member_must_say_why_when_the_share_becomes_a_request(team, bob, image_id):
    as_bob = ApiClient(token_for(bob, team))
    response = as_bob.post(members_url(image_id), {"tenants": [GLOBEX]})
    assert response.status_code == 400
    assert "note" in response.json()["errors"]
    response = as_bob.post(members_url(image_id), {"tenants": [GLOBEX], "note": "customer"})
    assert response.status_code == 202
    [made] = response.json()["requests"]
    assert (made["member"], made["justification"], made["requested_by"]) == (
        GLOBEX,
        "customer",
        "bob",
    )
    assert LedgerEntry.objects.get(action=Action.REQUEST).channel == Channel.API


def test_a_private_image_is_a_409_until_make_shared_is_sent(as_alice, cloud):
    image_id = acme_image(cloud, visibility="private")
    response = as_alice.post(members_url(image_id), {"tenants": [GLOBEX]})
    assert response.status_code == 409
    assert response.json()["type"] == "/api/v1/problems/image-private"
    assert "make_shared" in response.json()["detail"]
    assert cloud.calls("member_create") == 0
    response = as_alice.post(members_url(image_id), {"tenants": [GLOBEX], "make_shared": True})
    assert response.status_code == 200
    assert cloud.image(image_id).visibility == "shared"
    assert LedgerEntry.objects.get(action=Action.MAKE_SHARED).channel == Channel.API


def test_a_cloud_outage_on_create_is_a_503_with_the_upstream_request_id(as_alice, cloud, image_id):
    cloud.add_fault("error", route="member_create", status=503)
    response = as_alice.post(members_url(image_id), {"tenants": [GLOBEX]})
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["request_id"].startswith("req-")
    [result] = problem["results"]
    assert (result["tenant"], result["outcome"]) == (GLOBEX, "failed")
    assert result["request_id"] == problem["request_id"]
    entry = LedgerEntry.objects.get(action=Action.SHARE)
    assert (entry.outcome, entry.http_status, entry.channel) == (Outcome.FAILED, 503, "api")
    assert entry.request_id == problem["request_id"]


def test_a_refusal_by_the_cloud_is_a_502_with_the_upstream_request_id(as_alice, cloud):
    image_id = acme_image(cloud)
    cloud.add_fault("error", route="image_get", status=400, message="Bad image reference")
    response = as_alice.post(members_url(image_id), {"tenants": [GLOBEX]})
    assert response.status_code == 502
    problem = response.json()
    assert problem["upstream_status"] == 400
    assert problem["request_id"].startswith("req-")
    assert problem["request_id"] in problem["detail"]
    assert "Traceback" not in response.text


def test_an_unknown_image_is_a_404_problem(as_alice, cloud):
    response = as_alice.get(members_url("00000000-0000-0000-0000-000000000000"))
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_revoking_removes_the_member_and_records_it_as_api(as_alice, cloud, image_id):
    as_alice.post(members_url(image_id), {"tenants": [GLOBEX]})
    response = as_alice.delete(members_url(image_id) + f"{GLOBEX}/?note=contract+ended")
    assert response.status_code == 200
    assert response.json() == {
        "outcome": "succeeded",
        "message": f"Revoked: {GLOBEX} can no longer use this image.",
    }
    assert cloud.member_status(image_id, GLOBEX) is None
    entry = LedgerEntry.objects.get(action=Action.REVOKE)
    assert (entry.channel, entry.note, entry.outcome) == ("api", "contract ended", "succeeded")


def test_revoking_a_tenant_that_is_no_member_is_a_404_problem(as_alice, image_id):
    response = as_alice.delete(members_url(image_id) + f"{GLOBEX}/")
    assert response.status_code == 404
    assert response.json()["type"] == "/api/v1/problems/cloud"


def test_a_revoke_the_cloud_fails_is_a_503_with_the_request_id(as_alice, cloud, image_id):
    as_alice.post(members_url(image_id), {"tenants": [GLOBEX]})
    cloud.add_fault("error", route="member_delete", status=503)
    response = as_alice.delete(members_url(image_id) + f"{GLOBEX}/")
    assert response.status_code == 503
    assert response.json()["request_id"].startswith("req-")
    assert cloud.member_status(image_id, GLOBEX) == "pending"


def test_incoming_lists_offers_and_accepting_one_is_recorded_as_api(as_alice, cloud):
    offered = cloud.create_image(owner=GLOBEX, name="Globex appliance")["id"]
    cloud.add_member(offered, ACME, "pending")
    listed = as_alice.get("/api/v1/teams/acme/incoming/").json()
    assert listed == [
        {"image_id": offered, "name": "Globex appliance", "owner": GLOBEX, "status": "pending"}
    ]
    response = as_alice.post(f"/api/v1/teams/acme/incoming/{offered}/", {"status": "accepted"})
    assert response.status_code == 200
    assert response.json()["status"] == "accepted"
    assert cloud.member_status(offered, ACME) == "accepted"
    assert LedgerEntry.objects.get(action=Action.ACCEPT).channel == Channel.API


def test_an_incoming_status_outside_the_three_is_a_400(as_alice, cloud):
    response = as_alice.post("/api/v1/teams/acme/incoming/x/", {"status": "maybe"})
    assert response.status_code == 400
    assert "status" in response.json()["errors"]


def test_the_images_list_counts_members_and_pages_with_a_cursor(as_alice, cloud, settings):
    from sharing import selectors

    first = acme_image(cloud, name="a")
    for n in range(selectors.IMAGES_PAGE_SIZE):
        acme_image(cloud, name=f"b{n}")
    as_alice.post(members_url(first), {"tenants": [GLOBEX, INITECH]})
    page = as_alice.get("/api/v1/teams/acme/images/").json()
    assert len(page["results"]) == selectors.IMAGES_PAGE_SIZE
    assert page["next"]
    rest = as_alice.get(f"/api/v1/teams/acme/images/?cursor={page['next']}").json()
    seen = page["results"] + rest["results"]
    assert len({row["id"] for row in seen}) == selectors.IMAGES_PAGE_SIZE + 1
    assert rest["next"] is None
    [row] = [row for row in seen if row["id"] == first]
    assert row["members"] == 2
