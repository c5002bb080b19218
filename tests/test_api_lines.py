"""Image lines through the automation API: a pipeline publishes right after its build, with
the same services, roles, ledger and problems as the pages."""

from datetime import timedelta

import pytest
from django.utils import timezone

from sharing import services
from sharing.models import AccessRequest, Action, Channel, LedgerEntry, Line, VersionState

from .api import ApiClient, token_for
from .conftest import GLOBEX, INITECH, acme_image

LINES = "/api/v1/teams/acme/lines/"
LINE = LINES + "web-base/"


@pytest.fixture
def as_alice(team, alice) -> ApiClient:
    return ApiClient(token_for(alice, team))


@pytest.fixture
def as_bob(team, bob) -> ApiClient:
    return ApiClient(token_for(bob, team))


@pytest.fixture
def line(team, alice, cloud) -> Line:
    return services.line_create(
        team=team, actor=alice, name="Acme web base", slug="web-base", region="IAD"
    )


def test_an_admin_creates_a_line_and_lists_it(as_alice, cloud):
    body = {"name": "Web", "slug": "web", "region": "IAD", "keep": 3, "grace_days": 7}
    created = as_alice.post(LINES, body)
    assert created.status_code == 201
    assert created.json()["keep"] == 3
    [listed] = as_alice.get(LINES).json()
    assert (listed["slug"], listed["versions"], listed["subscribers"]) == ("web", 0, 0)


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"slug": "web-base"}, 409, None),
        ({"region": "LON"}, 400, "region"),
        ({"keep": 0}, 400, "keep"),
        ({"slug": "no spaces"}, 400, "slug"),
    ],
)
def test_bad_lines_are_problems_and_change_nothing(as_alice, line, body, status, field):
    answer = as_alice.post(LINES, {"name": "X", "slug": "x", "region": "IAD", **body})
    assert answer.status_code == status
    assert answer["Content-Type"] == "application/problem+json"
    if field:
        assert field in answer.json()["errors"]
    assert Line.objects.count() == 1


def test_a_pipeline_publishes_and_the_subscribers_have_it(as_alice, line, alice, cloud):
    services.subscriber_add(line=line, actor=alice, tenant=GLOBEX)
    services.subscriber_add(line=line, actor=alice, tenant=INITECH)
    image_id = acme_image(cloud, "web-base-build-42")
    answer = as_alice.post(LINE + "versions/", {"image_id": image_id}, **{"Idempotency-Key": "b42"})
    assert answer.status_code == 200
    body = answer.json()
    assert (body["version"], body["created"], body["properties_written"]) == (1, True, True)
    assert {r["tenant"]: r["outcome"] for r in body["results"]} == {
        GLOBEX: "succeeded",
        INITECH: "succeeded",
    }
    assert cloud.member_status(image_id, GLOBEX) == "pending"
    entries = LedgerEntry.objects.filter(action=Action.SHARE, line=line)
    assert {e.channel for e in entries} == {Channel.API}
    creates = cloud.calls("member_create")
    again = as_alice.post(LINE + "versions/", {"image_id": image_id}, **{"Idempotency-Key": "b42"})
    assert again.json() == body and cloud.calls("member_create") == creates


def test_publishing_the_same_image_again_answers_created_false(as_alice, line, cloud):
    image_id = acme_image(cloud)
    as_alice.post(LINE + "versions/", {"image_id": image_id})
    again = as_alice.post(LINE + "versions/", {"image_id": image_id})
    assert again.status_code == 200 and again.json()["created"] is False


def test_a_refused_subscriber_makes_the_publish_a_problem_with_every_result(
    as_alice, line, alice, cloud
):
    for tenant in (GLOBEX, INITECH, "100004"):
        services.subscriber_add(line=line, actor=alice, tenant=tenant)
    cloud.member_limit = 2
    answer = as_alice.post(LINE + "versions/", {"image_id": acme_image(cloud)})
    assert answer.status_code == 502
    outcomes = sorted(r["outcome"] for r in answer.json()["results"])
    assert outcomes == ["failed", "succeeded", "succeeded"]


def test_publishing_an_unknown_image_is_a_404_problem(as_alice, line, cloud):
    answer = as_alice.post(LINE + "versions/", {"image_id": "nope"})
    assert answer.status_code == 404
    assert answer["Content-Type"] == "application/problem+json"


def test_publishing_another_accounts_image_is_a_400_on_image_id(as_alice, line, cloud):
    theirs = cloud.create_image(owner=GLOBEX, region="IAD", name="theirs", visibility="public")
    answer = as_alice.post(LINE + "versions/", {"image_id": theirs["id"]})
    assert answer.status_code == 400 and "image_id" in answer.json()["errors"]
    assert not line.versions.exists()


def test_a_member_cannot_publish(as_bob, line, cloud):
    assert as_bob.post(LINE + "versions/", {"image_id": acme_image(cloud)}).status_code == 403


def test_another_teams_token_gets_404(line, other_team, dave, cloud):
    as_dave = ApiClient(token_for(dave, other_team))
    assert as_dave.get(LINE).status_code == 404


def test_the_line_detail_lists_versions_subscribers_and_channels(as_alice, line, alice, cloud):
    services.subscriber_add(line=line, actor=alice, tenant=GLOBEX)
    image_id = acme_image(cloud)
    services.line_publish(line=line, actor=alice, image_id=image_id)
    body = as_alice.get(LINE).json()
    [version] = body["versions"]
    assert (version["version"], version["state"], version["members"]) == (1, "active", 1)
    assert [s["tenant"] for s in body["subscribers"]] == [GLOBEX]
    assert [(c["name"], c["version"]) for c in body["channels"]] == [("latest", 1)]


def test_channels_are_read_and_moved(as_alice, line, alice, cloud):
    first, second = acme_image(cloud, "v1"), acme_image(cloud, "v2")
    services.line_publish(line=line, actor=alice, image_id=first)
    services.line_publish(line=line, actor=alice, image_id=second)
    moved = as_alice.call("PUT", LINE + "channels/stable/", {"image_id": first, "note": "soak"})
    assert moved.status_code == 200 and moved.json()["version"] == 1
    assert as_alice.get(LINE + "channels/stable/").json()["image_id"] == first
    assert as_alice.get(LINE + "channels/latest/").json()["version"] == 2
    outside = as_alice.call("PUT", LINE + "channels/stable/", {"image_id": "elsewhere"})
    assert outside.status_code == 400 and "image_id" in outside.json()["errors"]


def test_deprecating_through_the_api_with_a_past_date_is_a_400(as_alice, team, line, alice, cloud):
    old, new = acme_image(cloud, "v1"), acme_image(cloud, "v2")
    services.line_publish(line=line, actor=alice, image_id=old)
    services.line_publish(line=line, actor=alice, image_id=new)
    past = timezone.localdate(timezone=team.zone) - timedelta(days=1)
    url = LINE + f"versions/{old}/deprecate/"
    refused = as_alice.post(url, {"replacement": new, "revoke_on": past.isoformat()})
    assert refused.status_code == 400 and "revoke_on" in refused.json()["errors"]
    later = past + timedelta(days=10)
    done = as_alice.post(url, {"replacement": new, "revoke_on": later.isoformat()})
    assert done.status_code == 200
    assert done.json()["version"]["state"] == VersionState.DEPRECATED
    assert cloud.image(old).extra["image_line_replacement"] == new


def test_an_admin_subscribes_and_removes_a_tenant(as_alice, line, alice, cloud):
    image_id = acme_image(cloud)
    services.line_publish(line=line, actor=alice, image_id=image_id)
    added = as_alice.call("PUT", LINE + f"subscribers/{GLOBEX}/", {})
    assert added.status_code == 200
    assert cloud.member_status(image_id, GLOBEX) == "pending"
    removed = as_alice.delete(LINE + f"subscribers/{GLOBEX}/?revoke=true")
    assert removed.status_code == 200 and removed.json()["revoked"] == [1]
    assert cloud.member_status(image_id, GLOBEX) is None


def test_a_member_subscribing_files_a_request(as_bob, line, cloud):
    asked = as_bob.call("PUT", LINE + f"subscribers/{GLOBEX}/", {"note": "our CI"})
    assert asked.status_code == 202
    assert AccessRequest.objects.get(pk=asked.json()["id"]).line == line
    assert asked.json()["line"] == "web-base"
    no_reason = as_bob.call("PUT", LINE + f"subscribers/{INITECH}/", {})
    assert no_reason.status_code == 400


def test_the_openapi_schema_lists_the_line_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "/api/v1/teams/{team}/lines/{line}/versions/" in paths
    assert "put" in paths["/api/v1/teams/{team}/lines/{line}/channels/{channel}/"]
