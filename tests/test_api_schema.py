"""The API says what it accepts: requests built from the OpenAPI document alone.

Schemathesis draws requests for every operation from `/api/v1/openapi.json`, sends them with
a real token of a seeded team to the app over Django's test client, the built-in cloud behind
it, and checks each answer: never a 5xx, the status and body the document gives, every 4xx a
problem+json, and no 400 for a request the document says is valid ("positive data").

Some values depend on the team or on today, which one document for every team cannot state
but describes in words: the team in the path, its image and tenant IDs, a share's last day,
a page cursor. For valid requests those are drawn from the seed instead (the team `acme`, its
image, tenants of other accounts, a day within the team's limit); the rest is generated.
"""

import itertools
import json
from datetime import date, timedelta
from urllib.parse import urlencode

import pytest
import requests
import schemathesis
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from sharing import services
from sharing.api.endpoints import api

from .api import ApiClient, token_for
from .conftest import GLOBEX, INITECH, acme_image

PREFIX = "/api/v1"
DOCUMENT = api.get_openapi_schema(path_prefix=PREFIX)
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]

# Derandomized and modest: the same examples every run, a few seconds for the whole file.
EXAMPLES = settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def body_of(case: Case) -> bytes | None:
    """The body as sent: JSON, or the raw bytes a negative case may carry."""
    if case.body is None or case.body.__class__.__name__ == "NotSet":
        return None
    if isinstance(case.body, bytes):
        return case.body
    return json.dumps(case.body).encode()


def send(client: Client, case: Case, secret: str) -> schemathesis.Response:
    """The case through Django's test client, answered as Schemathesis reads a response."""
    headers = {**(case.headers or {}), "Authorization": f"Bearer {secret}"}
    query = urlencode(case.query or {}, doseq=True)
    path = case.formatted_path + (f"?{query}" if query else "")
    body = body_of(case)
    kwargs = {"content_type": "application/json"} if body is not None else {}
    answer = getattr(client, case.method.lower())(path, body, headers=headers, **kwargs)
    sent = requests.Request(
        case.method.upper(), f"http://testserver{path}", headers=headers, data=body
    ).prepare()
    return schemathesis.Response(
        status_code=answer.status_code,
        headers={name: [value] for name, value in answer.headers.items()},
        content=answer.content,
        request=sent,
        elapsed=0.0,
        verify=True,
    )


@schemathesis.check
def errors_are_problems(ctx: CheckContext, response: schemathesis.Response, case: Case) -> None:
    """Every 4xx and 5xx is `application/problem+json` with the RFC 9457 members."""
    if response.status_code < 400:
        return
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type == "application/problem+json", content_type
    body = response.json()
    assert {"type", "title", "status", "detail"} <= set(body), body
    assert body["status"] == response.status_code


@schemathesis.check
def valid_requests_are_not_refused(
    ctx: CheckContext, response: schemathesis.Response, case: Case
) -> None:
    """A request the document says is valid is never a 400 (it may be a 404 or a 409: the
    image may not have that member, the request may be decided already)."""
    if case.meta is not None and case.meta.generation.mode.is_positive:
        assert response.status_code != 400, response.json()


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    errors_are_problems,
]


@pytest.fixture
def seeded(team, alice, cloud, settings):
    """The team acme with an admin's token, an image in IAD, and an open access request."""
    settings.API_RATE_PER_TOKEN = "100000/m"
    image_id = acme_image(cloud)
    request = services.access_request_create(
        team=team, region="IAD", image_id=image_id, tenant=INITECH, justification="for QA",
        share_until=None, requested_by=alice,
    )  # fmt: skip
    return {
        "secret": token_for(alice, team),
        "team": team,
        "image_id": image_id,
        "request_id": request.pk,
    }


def fixed_path(seeded: dict) -> dict:
    return {
        "team": "acme",
        "image_id": seeded["image_id"],
        "tenant": GLOBEX,
        "request_id": seeded["request_id"],
    }


SLUGS = itertools.count()


def with_team_values(case: Case, seeded: dict) -> None:
    """The values of a valid request that only the team's state and today decide."""
    team = seeded["team"]
    today = timezone.localdate(timezone=team.zone)
    body = case.body if isinstance(case.body, dict) else {}
    if "tenants" in body:
        body["tenants"] = [(GLOBEX, INITECH)[n % 2] for n, _ in enumerate(body["tenants"])]
    if "member" in body:
        body["member"] = GLOBEX
    if "owner" in body:  # a trust rule's owner: another account
        body["owner"] = GLOBEX
    if "image_id" in body:
        body["image_id"] = seeded["image_id"]
    if case.path.endswith("/lines/") and "slug" in body:
        body["region"] = "IAD"  # one of the team's regions
        body["slug"] = f"{body['slug'][:40]}-{next(SLUGS)}"  # another line's slug is a clash
    if case.path.endswith("/webhooks/") and "url" in body:
        body["url"] = "https://hooks.example.com/images"  # Django's URL rules, a real host
    if body.get("until") is not None:
        drawn = date.fromisoformat(body["until"])
        body["until"] = (today + timedelta(days=drawn.day % 30)).isoformat()
    query = case.query or {}
    if case.path.endswith("/images/"):
        query.pop("cursor", None)  # a cursor is `next` of an earlier page, never made up
    if query.get("since") and query.get("until") and query["since"] > query["until"]:
        query["since"], query["until"] = query["until"], query["since"]


def run(operation, mode: GenerationMode, seeded: dict) -> None:
    client = Client()
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=fixed_path(seeded))
    extra = [valid_requests_are_not_refused] if mode == GenerationMode.POSITIVE else []

    @EXAMPLES
    @given(case=strategy)
    def check(case: Case) -> None:
        if mode == GenerationMode.POSITIVE:
            with_team_values(case, seeded)
        response = send(client, case, seeded["secret"])
        case.validate_response(response, checks=CHECKS + extra)

    check()


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.label)
def test_valid_requests_from_the_document_are_answered_as_it_says(operation, seeded):
    run(operation, GenerationMode.POSITIVE, seeded)


def _takes_input(operation) -> bool:
    found = DOCUMENT["paths"][operation.path][operation.method.lower()]
    return bool(found.get("parameters") or found.get("requestBody"))


# An operation without parameters or a body (the ledger's public key) has no invalid request.
TAKING_INPUT = [operation for operation in OPERATIONS if _takes_input(operation)]


@pytest.mark.parametrize("operation", TAKING_INPUT, ids=lambda operation: operation.label)
def test_invalid_requests_are_refused_with_a_problem_never_a_server_error(operation, seeded):
    run(operation, GenerationMode.NEGATIVE, seeded)


# What the property tests found, said once in plain words.


@pytest.fixture
def as_alice(team, alice) -> ApiClient:
    return ApiClient(token_for(alice, team))


def test_a_cursor_the_cloud_does_not_know_is_a_400_with_a_field_error(as_alice, cloud):
    acme_image(cloud)
    response = as_alice.get("/api/v1/teams/acme/images/?cursor=null")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "/api/v1/problems/invalid"
    assert list(problem["errors"]) == ["cursor"]


def test_the_document_never_offers_null_for_a_query_parameter():
    for item in DOCUMENT["paths"].values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                assert {"type": "null"} not in parameter["schema"].get("anyOf", []), parameter


def test_the_document_says_what_the_history_and_the_requests_accept():
    history = DOCUMENT["paths"][f"{PREFIX}/teams/{{team}}/history/"]["get"]
    by_name = {p["name"]: p["schema"] for p in history["parameters"]}
    assert by_name["until"]["format"] == "date"
    assert by_name["since"]["format"] == "date"
    requests_list = DOCUMENT["paths"][f"{PREFIX}/teams/{{team}}/requests/"]["get"]
    [status] = [p["schema"] for p in requests_list["parameters"] if p["name"] == "status"]
    assert "open" in json.dumps(status) and "#/components/schemas/RequestStatus" in str(status)
    filed = DOCUMENT["components"]["schemas"]["AccessRequestIn"]["properties"]
    assert filed["member"]["minLength"] == 1 and filed["justification"]["minLength"] == 1
    assert "past" in filed["until"]["description"]


def test_a_note_with_a_nul_character_is_a_400_as_the_document_says(as_alice, cloud, seeded):
    # PostgreSQL cannot store NUL: without the check these notes reached the database.
    image_id, request_id = seeded["image_id"], seeded["request_id"]
    revoke = as_alice.delete(f"/api/v1/teams/acme/images/{image_id}/members/{GLOBEX}/?note=a%00b")
    approve = as_alice.post(f"/api/v1/teams/acme/requests/{request_id}/approve/", {"note": "a\0b"})
    assert (revoke.status_code, approve.status_code) == (400, 400)
    assert "note" in revoke.json()["errors"] and "note" in approve.json()["errors"]
