"""`Idempotency-Key`: a repeat gets the first answer and calls the cloud no more; a key reused
for another request is a 409; concurrent repeats make one cloud call (PostgreSQL)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from sharing.models import Action, IdempotencyRecord, LedgerEntry

from .api import ApiClient, token_for
from .conftest import GLOBEX, INITECH, acme_image


@pytest.fixture
def secret(team, alice) -> str:
    return token_for(alice, team)


@pytest.fixture
def image_id(cloud):
    return acme_image(cloud)


def share(api: ApiClient, image_id: str, tenants: list[str], key: str | None = "build-42"):
    headers = {"Idempotency-Key": key} if key else {}
    path = f"/api/v1/teams/acme/images/{image_id}/members/"
    return api.post(path, {"tenants": tenants}, **headers)


def test_a_repeat_gets_the_first_answer_without_calling_the_cloud(secret, cloud, image_id):
    api = ApiClient(secret)
    first = share(api, image_id, [GLOBEX])
    again = share(api, image_id, [GLOBEX])
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again.json()["results"][0]["created"] is True  # the first answer, not "already"
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert cloud.calls("member_create") == 1
    assert LedgerEntry.objects.filter(action=Action.SHARE).count() == 1


def test_without_a_key_a_repeat_is_a_new_request(secret, cloud, image_id):
    api = ApiClient(secret)
    share(api, image_id, [GLOBEX], key=None)
    again = share(api, image_id, [GLOBEX], key=None)
    assert again.json()["results"][0]["created"] is False
    assert cloud.calls("member_create") == 2


def test_the_same_key_with_another_body_is_a_409_problem(secret, cloud, image_id):
    api = ApiClient(secret)
    share(api, image_id, [GLOBEX])
    response = share(api, image_id, [INITECH])
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == "/api/v1/problems/idempotency-key-reused"
    assert cloud.calls("member_create") == 1
    assert cloud.member_status(image_id, INITECH) is None


def test_the_same_key_on_another_path_is_a_409_problem(secret, cloud, image_id):
    api = ApiClient(secret)
    share(api, image_id, [GLOBEX])
    response = share(api, acme_image(cloud, name="other"), [GLOBEX])
    assert response.status_code == 409


def test_a_failure_the_cloud_will_not_fix_is_repeated_not_retried(secret, cloud, image_id):
    api = ApiClient(secret)
    cloud.add_fault("error", route="member_create", status=403, times=1)
    first = share(api, image_id, [GLOBEX])
    again = share(api, image_id, [GLOBEX])
    assert first.status_code == again.status_code == 502
    assert again.content == first.content
    assert cloud.calls("member_create") == 1


def test_a_503_frees_the_key_so_the_retry_does_the_work(secret, cloud, image_id):
    api = ApiClient(secret)
    cloud.add_fault("error", route="member_create", status=503, times=1)
    assert share(api, image_id, [GLOBEX]).status_code == 503
    retry = share(api, image_id, [GLOBEX])
    assert retry.status_code == 200
    assert "Idempotent-Replayed" not in retry
    assert cloud.calls("member_create") == 2
    assert cloud.member_status(image_id, GLOBEX) == "pending"
    assert share(api, image_id, [GLOBEX]).content == retry.content


def test_keys_belong_to_one_token(team, alice, cloud, image_id):
    share(ApiClient(token_for(alice, team, "ci")), image_id, [GLOBEX])
    other = share(ApiClient(token_for(alice, team, "laptop")), image_id, [GLOBEX])
    assert other.status_code == 200
    assert "Idempotent-Replayed" not in other
    assert cloud.calls("member_create") == 2


def test_answers_are_kept_for_a_day_and_then_the_key_is_free(secret, cloud, image_id):
    api = ApiClient(secret)
    share(api, image_id, [GLOBEX])
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=23, minutes=59))
    assert share(api, image_id, [GLOBEX])["Idempotent-Replayed"] == "true"
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=24, minutes=1))
    fresh = share(api, image_id, [GLOBEX])
    assert "Idempotent-Replayed" not in fresh
    assert cloud.calls("member_create") == 2


def test_a_claim_left_by_a_request_that_died_is_freed_after_ten_minutes(secret, cloud, image_id):
    api = ApiClient(secret)
    share(api, image_id, [GLOBEX])
    IdempotencyRecord.objects.update(status_code=None, body="")  # as if it died mid-request
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(minutes=9))
    assert share(api, image_id, [GLOBEX]).status_code == 409
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(minutes=11))
    again = share(api, image_id, [GLOBEX])
    assert again.status_code == 200
    assert again.json()["results"][0]["created"] is False  # the retry did the work: a repeat
    assert cloud.calls("member_create") == 2


def test_a_key_must_be_short(secret, image_id):
    response = share(ApiClient(secret), image_id, [GLOBEX], key="k" * 256)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"]


def test_a_revoke_repeated_with_its_key_is_answered_from_the_record(secret, cloud, image_id):
    api = ApiClient(secret)
    share(api, image_id, [GLOBEX], key=None)
    path = f"/api/v1/teams/acme/images/{image_id}/members/{GLOBEX}/"
    first = api.delete(path, **{"Idempotency-Key": "revoke-1"})
    again = api.delete(path, **{"Idempotency-Key": "revoke-1"})
    assert first.status_code == again.status_code == 200
    assert cloud.calls("member_delete") == 1


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="concurrent requests need a server database (SQLite serialises writers)",
)
@pytest.mark.django_db(transaction=True)
def test_two_requests_with_one_key_at_once_call_the_cloud_once(secret, cloud, image_id):
    # The create is slow, so the second request arrives while the first is still working.
    cloud.add_fault("latency", route="member_create", seconds=0.5)
    start = threading.Barrier(2)
    answers = []

    def send():
        try:
            start.wait()
            answers.append(share(ApiClient(secret), image_id, [GLOBEX]))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert cloud.calls("member_create") == 1
    # The second sees the first's claim: still working (409), or its stored answer.
    assert sorted(a.status_code for a in answers) in ([200, 200], [200, 409])
    [done] = [a for a in answers if a.status_code == 200 and "Idempotent-Replayed" not in a]
    later = share(ApiClient(secret), image_id, [GLOBEX])
    assert later.content == done.content
    assert LedgerEntry.objects.filter(action=Action.SHARE).count() == 1
