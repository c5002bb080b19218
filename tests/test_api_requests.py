"""Access requests and the history through the API, and the channel in the browser's history."""

import csv
import io

import pytest

from sharing import selectors
from sharing.models import AccessRequest, Action, Channel, LedgerEntry, RequestStatus

from .api import ApiClient, token_for
from .conftest import GLOBEX, INITECH, acme_image

REQUESTS = "/api/v1/teams/acme/requests/"


@pytest.fixture
def image_id(cloud):
    return acme_image(cloud)


@pytest.fixture
def as_alice(team, alice):
    return ApiClient(token_for(alice, team))


@pytest.fixture
def as_carol(team, carol):
    return ApiClient(token_for(carol, team))


def file(api: ApiClient, image_id: str, tenant: str = GLOBEX, **extra):
    body = {"image_id": image_id, "member": tenant, "justification": "customer trial", **extra}
    return api.post(REQUESTS, body)


def test_a_viewer_files_a_request_that_an_admin_approves_and_the_image_is_shared(
    as_carol, as_alice, cloud, image_id
):
    filed = file(as_carol, image_id)
    assert filed.status_code == 201
    made = filed.json()
    assert (made["member"], made["status"], made["requested_by"]) == (GLOBEX, "pending", "carol")
    approved = as_alice.post(f"{REQUESTS}{made['id']}/approve/", {"note": "fine"})
    assert approved.status_code == 200
    assert (approved.json()["status"], approved.json()["decided_by"]) == ("approved", "alice")
    assert cloud.member_status(image_id, GLOBEX) == "pending"
    entries = LedgerEntry.objects.filter(access_request_id=made["id"]).order_by("id")
    assert [(e.action, e.channel) for e in entries] == [
        (Action.REQUEST, Channel.API),
        (Action.APPROVE, Channel.API),
        (Action.SHARE, Channel.API),
    ]
    detail = as_carol.get(f"{REQUESTS}{made['id']}/").json()
    assert detail["status"] == "approved"


def test_a_request_for_a_partner_by_name_resolves_to_its_tenant(as_carol, team, image_id):
    team.partners.create(name="Initech", tenant=INITECH)
    assert file(as_carol, image_id, tenant="initech").json()["member"] == INITECH


def test_a_request_needs_a_justification_and_a_valid_tenant(as_carol, image_id):
    response = as_carol.post(
        REQUESTS, {"image_id": image_id, "member": "abc", "justification": "  "}
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"member", "justification"}


def test_a_second_open_request_for_the_same_tenant_is_a_409(as_carol, image_id):
    file(as_carol, image_id)
    response = file(as_carol, image_id)
    assert response.status_code == 409
    assert "already exists" in response.json()["detail"]


def test_a_request_for_an_unknown_image_is_a_404(as_carol, cloud):
    assert file(as_carol, "00000000-0000-0000-0000-000000000000").status_code == 404


def test_nobody_approves_their_own_request(as_alice, image_id):
    made = file(as_alice, image_id).json()
    response = as_alice.post(f"{REQUESTS}{made['id']}/approve/", {})
    assert response.status_code == 409
    assert "their own request" in response.json()["detail"]


def test_rejecting_needs_a_reason_and_then_records_it(as_carol, as_alice, image_id):
    made = file(as_carol, image_id).json()
    response = as_alice.post(f"{REQUESTS}{made['id']}/reject/", {"note": " "})
    assert response.status_code == 400
    assert "note" in response.json()["errors"]
    response = as_alice.post(f"{REQUESTS}{made['id']}/reject/", {"note": "not this one"})
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["decision_note"]) == (
        "rejected",
        "not this one",
    )
    again = as_alice.post(f"{REQUESTS}{made['id']}/reject/", {"note": "again"})
    assert again.status_code == 409
    assert LedgerEntry.objects.get(action=Action.REJECT_REQUEST).channel == Channel.API


def test_an_approval_whose_share_fails_answers_the_failed_request(
    as_carol, as_alice, cloud, image_id
):
    made = file(as_carol, image_id).json()
    cloud.add_fault("error", route="member_create", status=403)
    response = as_alice.post(f"{REQUESTS}{made['id']}/approve/", {})
    assert response.status_code == 200
    assert response.json()["status"] == RequestStatus.FAILED
    assert "request req-" in response.json()["failure"]


def test_a_request_of_another_team_is_404_even_by_its_id(as_alice, other_team):
    foreign = AccessRequest.objects.create(
        team=other_team, region="IAD", image_id="img", tenant=GLOBEX, justification="x",
        requester_name="dave", status_token="t",
    )  # fmt: skip
    assert as_alice.get(f"{REQUESTS}{foreign.pk}/").status_code == 404
    assert as_alice.post(f"{REQUESTS}{foreign.pk}/approve/", {}).status_code == 404
    assert AccessRequest.objects.get().status == RequestStatus.PENDING


def test_the_list_shows_open_requests_by_default_and_pages_with_a_cursor(
    as_carol, as_alice, team, carol, monkeypatch, image_id
):
    monkeypatch.setattr("sharing.api.endpoints.PAGE", 2)
    ids = [file(as_carol, image_id, tenant=str(200000 + n)).json()["id"] for n in range(3)]
    as_alice.post(f"{REQUESTS}{ids[0]}/reject/", {"note": "no"})
    first = as_carol.get(REQUESTS).json()
    assert [r["id"] for r in first["results"]] == [ids[2], ids[1]]
    assert first["next"] is None
    everything = as_carol.get(f"{REQUESTS}?status=all").json()
    assert [r["id"] for r in everything["results"]] == [ids[2], ids[1]]
    rest = as_carol.get(f"{REQUESTS}?status=all&cursor={everything['next']}").json()
    assert [r["id"] for r in rest["results"]] == [ids[0]]
    assert as_carol.get(f"{REQUESTS}?status=rejected").json()["results"][0]["id"] == ids[0]
    assert as_carol.get(f"{REQUESTS}?status=bogus").status_code == 400


# History


def test_history_filters_like_the_browser_and_pages_with_a_cursor(
    as_alice, client, alice, team, image_id, monkeypatch
):
    as_alice.post(f"/api/v1/teams/acme/images/{image_id}/members/", {"tenants": [GLOBEX]})
    client.force_login(alice)
    client.post(f"/t/acme/images/{image_id}/share/?region=IAD", {"members": INITECH})
    history = "/api/v1/teams/acme/history/"
    rows = as_alice.get(f"{history}?action=share").json()["results"]
    assert {row["tenant"]: row["channel"] for row in rows} == {GLOBEX: "api", INITECH: "web"}
    [row] = as_alice.get(f"{history}?channel=api&action=share").json()["results"]
    assert (row["tenant"], row["actor"], row["outcome"]) == (GLOBEX, "alice", "succeeded")
    assert len(as_alice.get(f"{history}?member={INITECH}&action=share").json()["results"]) == 1
    response = as_alice.get(f"{history}?since=2026-05-02&until=2026-05-01")
    assert response.status_code == 400
    assert response.json()["errors"]["until"] == ["This date is before the start date."]
    assert as_alice.get(f"{history}?channel=pigeon").status_code == 400

    monkeypatch.setattr(selectors, "HISTORY_PAGE_SIZE", 1)
    first = as_alice.get(f"{history}?action=share").json()
    second = as_alice.get(f"{history}?action=share&cursor={first['next']}").json()
    assert [first["results"][0]["tenant"], second["results"][0]["tenant"]] == [INITECH, GLOBEX]
    assert second["next"] is None


def test_the_browsers_history_shows_filters_and_exports_the_channel(
    as_alice, client, alice, image_id
):
    as_alice.post(f"/api/v1/teams/acme/images/{image_id}/members/", {"tenants": [GLOBEX]})
    client.force_login(alice)
    client.post(f"/t/acme/images/{image_id}/share/?region=IAD", {"members": INITECH})
    page = client.get("/t/acme/history/?channel=api")
    assert [e.tenant for e in page.context["entries"]] == [GLOBEX]
    assert "API" in page.text
    assert 'name="channel"' in page.text
    body = b"".join(client.get("/t/acme/history.csv?action=share")).decode()
    *rows, _head = csv.DictReader(io.StringIO(body))
    assert {(row["tenant"], row["channel"]) for row in rows} == {(GLOBEX, "api"), (INITECH, "web")}
