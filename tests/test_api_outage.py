"""A cloud outage through the API: a problem with the upstream request id, never the
dashboard's own records answered as if they were the cloud's."""

import pytest

from .api import ApiClient, token_for
from .conftest import GLOBEX, acme_image


@pytest.fixture
def as_alice(team, alice) -> ApiClient:
    return ApiClient(token_for(alice, team))


@pytest.fixture
def shared_image(as_alice, cloud) -> str:
    """An image shared with globex through the dashboard, so our records know a member."""
    image_id = acme_image(cloud)
    assert as_alice.post(members_url(image_id), {"tenants": [GLOBEX]}).status_code == 200
    return image_id


def members_url(image_id: str) -> str:
    return f"/api/v1/teams/acme/images/{image_id}/members/"


def assert_cloud_problem(response, status: int) -> dict:
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "/api/v1/problems/cloud"
    assert problem["request_id"].startswith("req-")
    assert "results" not in problem
    return problem


def test_the_members_list_is_a_503_with_the_request_id_while_the_members_call_fails(
    as_alice, cloud, shared_image
):
    cloud.add_fault("error", route="members_list", status=503)
    problem = assert_cloud_problem(as_alice.get(members_url(shared_image)), 503)
    assert problem["upstream_status"] == 503


def test_the_members_list_is_a_503_while_the_image_call_fails(as_alice, cloud, shared_image):
    cloud.add_fault("error", route="image_get", status=503)
    assert_cloud_problem(as_alice.get(members_url(shared_image)), 503)


def test_the_members_list_is_a_502_when_the_cloud_refuses_the_members_call(
    as_alice, cloud, shared_image
):
    cloud.add_fault("error", route="members_list", status=400, message="Bad request")
    problem = assert_cloud_problem(as_alice.get(members_url(shared_image)), 502)
    assert problem["upstream_status"] == 400


def test_the_members_list_answers_the_clouds_members_once_it_is_back(as_alice, cloud, shared_image):
    cloud.add_fault("error", route="members_list", status=503)
    assert as_alice.get(members_url(shared_image)).status_code == 503
    cloud.clear_faults()
    response = as_alice.get(members_url(shared_image))
    assert response.status_code == 200
    [row] = response.json()["results"]
    assert (row["tenant"], row["status"]) == (GLOBEX, "pending")


def test_the_images_list_answers_an_outage_the_same_way(as_alice, cloud, shared_image):
    cloud.add_fault("error", route="images_list", status=503)
    problem = assert_cloud_problem(as_alice.get("/api/v1/teams/acme/images/"), 503)
    assert problem["upstream_status"] == 503
