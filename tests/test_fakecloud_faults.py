"""The built-in cloud's fault switches and call counters, in-process and over a real socket."""

import threading
import time

import pytest
import requests

from builtin_cloud import running_server

from .glance_cast import A, B, C, FakeCloud, GlanceClient


@pytest.fixture
def cloud() -> FakeCloud:
    cloud = FakeCloud()
    # As every Glance client does: without it, Glance's errors are HTML or plain text.
    cloud.session.headers["Accept"] = "application/json"
    return cloud


@pytest.fixture
def a(cloud: FakeCloud) -> GlanceClient:
    return cloud.client("a")


@pytest.fixture
def img(cloud: FakeCloud) -> str:
    return cloud.image(A, name="web")


def add_member(client: GlanceClient, image_id: str, member: str = B, **kwargs):
    return client.post(f"/v2/images/{image_id}/members", json={"member": member}, **kwargs)


def test_latency_delays_the_answer(cloud, a):
    cloud.state.add_fault("latency", route="images_list", seconds=0.2)
    started = time.monotonic()
    assert a.get("/v2/images").status_code == 200
    assert time.monotonic() - started >= 0.2


def test_latency_sleeps_outside_the_lock_so_requests_overlap(cloud, a):
    cloud.state.add_fault("latency", route="images_list", seconds=0.3)
    statuses: list[int] = []
    threads = [
        threading.Thread(target=lambda: statuses.append(a.get("/v2/images").status_code))
        for _ in range(3)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200, 200, 200]
    assert time.monotonic() - started < 0.8  # 0.9 s if they ran one after another


def test_an_error_fault_answers_503_with_a_glance_body_by_default(cloud, a):
    cloud.state.add_fault("error", route="images_list")
    response = a.get("/v2/images")
    assert response.status_code == 503
    assert response.json()["title"] == "Service Unavailable"
    assert response.headers["x-openstack-request-id"].startswith("req-")


def test_an_error_fault_takes_a_status_and_a_message(cloud, a, img):
    cloud.state.add_fault("error", route="member_create", status=500, message="database gone")
    response = add_member(a, img)
    assert response.status_code == 500
    assert response.json()["message"].startswith("database gone")
    assert cloud.state.member_status(img, B) is None


def test_a_rate_limit_fault_answers_413_over_limit_with_retry_after(cloud, a):
    cloud.state.add_fault("rate_limit", route="images_list", retry_after=7)
    response = a.get("/v2/images")
    assert response.status_code == 413
    assert response.headers["Retry-After"] == "7"
    assert response.json()["overLimit"]["code"] == 413
    assert response.json()["overLimit"]["retryAfter"] == "7"


def test_a_rate_limit_fault_can_answer_429(cloud, a):
    cloud.state.add_fault("rate_limit", route="images_list", status=429, retry_after=2)
    response = a.get("/v2/images")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "2"


def test_a_timeout_fault_is_a_read_timeout_through_the_adapter(cloud, a, img):
    cloud.state.add_fault("timeout", route="member_create")
    with pytest.raises(requests.exceptions.ReadTimeout):
        add_member(a, img)
    assert cloud.state.member_status(img, B) is None


def test_a_reset_fault_is_a_connection_error_through_the_adapter(cloud, a):
    cloud.state.add_fault("reset", route="images_list")
    with pytest.raises(requests.exceptions.ConnectionError):
        a.get("/v2/images")


def test_an_error_after_the_change_leaves_the_member_created(cloud, a, img):
    cloud.state.add_fault("error", route="member_create", status=502, after=True, times=1)
    assert add_member(a, img).status_code == 502
    assert cloud.state.member_status(img, B) == "pending"
    # The client's retry then meets the existing member.
    assert add_member(a, img).status_code == 409


def test_a_timeout_after_the_change_leaves_the_member_created(cloud, a, img):
    cloud.state.add_fault("timeout", route="member_create", after=True)
    with pytest.raises(requests.exceptions.ReadTimeout):
        add_member(a, img)
    assert a.get(f"/v2/images/{img}/members/{B}").json()["status"] == "pending"


def test_a_fault_fires_only_as_many_times_as_asked(cloud, a):
    cloud.state.add_fault("error", route="images_list", times=2)
    statuses = [a.get("/v2/images").status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert cloud.state.faults() == []


def test_a_fault_with_rate_zero_never_fires(cloud, a):
    cloud.state.add_fault("error", rate=0.0)
    assert a.get("/v2/images").status_code == 200


def test_a_fault_without_a_route_hits_every_route_including_identity(cloud):
    cloud.state.add_fault("error", status=500)
    response = cloud.session.post(
        f"{cloud.app.base_url}/identity/v2.0/tokens",
        json={"auth": {"passwordCredentials": {"username": "a", "password": "x"}}},
    )
    assert response.status_code == 500


def test_a_fault_on_one_route_leaves_the_others_alone(cloud, a, img):
    cloud.state.add_fault("error", route="member_create")
    assert a.get("/v2/images").status_code == 200
    assert add_member(a, img).status_code == 503


def test_cleared_faults_stop_firing(cloud, a):
    cloud.state.add_fault("error")
    cloud.state.clear_faults()
    assert a.get("/v2/images").status_code == 200


def test_one_request_meets_at_most_one_failing_fault(cloud, a):
    cloud.state.add_fault("error", route="images_list", status=500, times=1)
    cloud.state.add_fault("reset", route="images_list", times=1)
    assert a.get("/v2/images").status_code == 500
    with pytest.raises(requests.exceptions.ConnectionError):
        a.get("/v2/images")


def test_unknown_fault_kinds_and_routes_are_refused(cloud):
    with pytest.raises(ValueError, match="kind"):
        cloud.state.add_fault("explode")
    with pytest.raises(ValueError, match="route"):
        cloud.state.add_fault("error", route="images_delete")


def test_calls_are_counted_per_route_and_in_total(cloud, img):
    a = cloud.client("a")  # one identity_rackspace call
    a.get("/v2/images")
    a.get("/v2/images")
    add_member(a, img)
    add_member(a, img)  # a 409 still counts
    a.get(f"/v2/images/{img}/members")
    assert cloud.state.calls("identity_rackspace") == 1
    assert cloud.state.calls("images_list") == 2
    assert cloud.state.calls("member_create") == 2
    assert cloud.state.calls("member_delete") == 0
    assert cloud.state.calls() == 6
    cloud.state.reset_counters()
    assert cloud.state.calls() == 0


def test_faulted_calls_are_counted_too(cloud, a):
    cloud.state.reset_counters()
    cloud.state.add_fault("reset", route="images_list")
    with pytest.raises(requests.exceptions.ConnectionError):
        a.get("/v2/images")
    assert cloud.state.calls("images_list") == 1


# Over a real socket


def test_a_real_server_serves_identity_and_glance_with_its_own_urls(cloud, img):
    with running_server(cloud.app) as base_url, requests.Session() as session:
        assert base_url.startswith("http://127.0.0.1:")
        login = session.post(
            f"{base_url}/identity/v2.0/tokens",
            json={"auth": {"passwordCredentials": {"username": "a", "password": "correct horse"}}},
            timeout=5,
        )
        catalog = login.json()["access"]["serviceCatalog"]
        image_service = next(s for s in catalog if s["type"] == "image")
        assert image_service["endpoints"][0]["publicURL"] == f"{base_url}/iad/images/v2"
        a = cloud.client("a", session=session)
        assert add_member(a, img).status_code == 200
        assert a.get(f"/v2/images/{img}/members/{B}").json()["status"] == "pending"
    assert cloud.app.base_url == "http://fake-cloud.test"


def test_a_timeout_over_a_real_socket_is_a_read_timeout_and_the_change_is_made(cloud, img):
    cloud.state.add_fault("timeout", route="member_create", seconds=2, after=True)
    with running_server(cloud.app), requests.Session() as session:
        a = cloud.client("a", session=session)
        started = time.monotonic()
        with pytest.raises(requests.exceptions.ReadTimeout):
            add_member(a, img, timeout=(2, 0.3))
        assert time.monotonic() - started < 1.5
        assert cloud.state.member_status(img, B) == "pending"


def test_a_reset_over_a_real_socket_is_a_connection_error(cloud, img):
    cloud.state.add_fault("reset", route="member_create", after=True)
    with running_server(cloud.app), requests.Session() as session:
        a = cloud.client("a", session=session)
        with pytest.raises(requests.exceptions.ConnectionError) as caught:
            add_member(a, img, member=C)
        assert "Connection reset by peer" in str(caught.value)
        assert cloud.state.member_status(img, C) == "pending"
        # The server keeps serving after a reset.
        assert a.get(f"/v2/images/{img}/members").status_code == 200


# Failures after the change, on the calls that create and remove a share


def test_a_reset_after_the_change_leaves_the_member_created(cloud, a, img):
    cloud.state.add_fault("reset", route="member_create", after=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        add_member(a, img)
    assert cloud.state.member_status(img, B) == "pending"


def test_an_error_after_a_delete_leaves_the_member_removed(cloud, a, img):
    cloud.state.add_member(img, B)
    cloud.state.add_fault("error", route="member_delete", status=500, after=True, times=1)
    assert a.delete(f"/v2/images/{img}/members/{B}").status_code == 500
    assert cloud.state.member_status(img, B) is None
    # The client's retry then meets the missing member.
    assert a.delete(f"/v2/images/{img}/members/{B}").status_code == 404


def test_a_timeout_after_a_delete_leaves_the_member_removed(cloud, a, img):
    cloud.state.add_member(img, B)
    cloud.state.add_fault("timeout", route="member_delete", after=True)
    with pytest.raises(requests.exceptions.ReadTimeout):
        a.delete(f"/v2/images/{img}/members/{B}")
    assert a.get(f"/v2/images/{img}/members/{B}").status_code == 404


def test_a_reset_after_a_delete_leaves_the_member_removed(cloud, a, img):
    cloud.state.add_member(img, B)
    cloud.state.add_fault("reset", route="member_delete", after=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        a.delete(f"/v2/images/{img}/members/{B}")
    assert cloud.state.member_status(img, B) is None


def test_a_failure_before_a_delete_leaves_the_member_in_place(cloud, a, img):
    cloud.state.add_member(img, B)
    cloud.state.add_fault("timeout", route="member_delete")
    with pytest.raises(requests.exceptions.ReadTimeout):
        a.delete(f"/v2/images/{img}/members/{B}")
    assert cloud.state.member_status(img, B) == "pending"


# Late: the change is made after the client gave up


def test_a_late_create_times_out_at_once_and_is_not_made_yet(cloud, a, img):
    cloud.state.add_fault("late", route="member_create", seconds=60)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        add_member(a, img)
    assert time.monotonic() - started < 1
    assert a.get(f"/v2/images/{img}/members/{B}").status_code == 404
    assert cloud.state.late_pending() == 1


def test_apply_late_makes_the_held_back_create_at_once(cloud, a, img):
    cloud.state.add_fault("late", route="member_create", seconds=60)
    with pytest.raises(requests.exceptions.ReadTimeout):
        add_member(a, img)
    assert cloud.state.apply_late() == 1
    assert a.get(f"/v2/images/{img}/members/{B}").json()["status"] == "pending"
    assert cloud.state.late_pending() == 0
    assert cloud.state.apply_late() == 0


def test_a_late_change_is_made_by_its_timer(cloud, a, img):
    cloud.state.add_fault("late", route="member_create", seconds=0.2)
    with pytest.raises(requests.exceptions.ReadTimeout):
        add_member(a, img)
    assert cloud.state.member_status(img, B) is None
    deadline = time.monotonic() + 5
    while cloud.state.member_status(img, B) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert cloud.state.member_status(img, B) == "pending"
    assert cloud.state.late_pending() == 0


def test_a_late_create_of_a_member_added_meanwhile_changes_nothing(cloud, a, img):
    cloud.state.add_fault("late", route="member_create", seconds=60, times=1)
    with pytest.raises(requests.exceptions.ReadTimeout):
        add_member(a, img)
    # The client settles the unknown outcome by adding the member again; the consumer accepts.
    assert add_member(a, img).status_code == 200
    b = cloud.client("b")
    assert b.put(f"/v2/images/{img}/members/{B}", json={"status": "accepted"}).ok
    assert cloud.state.apply_late() == 1  # Glance would answer this one 409: nothing changes
    assert cloud.state.member_status(img, B) == "accepted"
    assert [m["member_id"] for m in a.get(f"/v2/images/{img}/members").json()["members"]] == [B]


def test_a_late_delete_removes_the_member_only_later(cloud, a, img):
    cloud.state.add_member(img, B)
    cloud.state.add_fault("late", route="member_delete", seconds=60)
    with pytest.raises(requests.exceptions.ReadTimeout):
        a.delete(f"/v2/images/{img}/members/{B}")
    assert cloud.state.member_status(img, B) == "pending"
    cloud.state.apply_late()
    assert cloud.state.member_status(img, B) is None


def test_a_late_fault_cannot_come_after_the_change(cloud):
    with pytest.raises(ValueError, match="late"):
        cloud.state.add_fault("late", after=True)


def test_a_late_create_over_a_real_socket_lands_after_the_read_timeout(cloud, img):
    cloud.state.add_fault("late", route="member_create", seconds=1.0)
    with running_server(cloud.app), requests.Session() as session:
        a = cloud.client("a", session=session)
        with pytest.raises(requests.exceptions.ReadTimeout):
            add_member(a, img, timeout=(2, 0.3))
        assert a.get(f"/v2/images/{img}/members/{B}").status_code == 404
        deadline = time.monotonic() + 5
        while a.get(f"/v2/images/{img}/members/{B}").status_code == 404:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert cloud.state.member_status(img, B) == "pending"


def test_apply_late_over_a_real_socket(cloud, img):
    cloud.state.add_fault("late", route="member_create", seconds=60)
    with running_server(cloud.app), requests.Session() as session:
        a = cloud.client("a", session=session)
        with pytest.raises(requests.exceptions.ReadTimeout):
            add_member(a, img, timeout=(2, 0.3))
        cloud.state.apply_late()
        assert a.get(f"/v2/images/{img}/members/{B}").json()["status"] == "pending"


# The member-call log: what each request truly did, whatever the client saw


def test_each_member_change_is_logged_with_its_answer_and_the_callers_request_id(cloud, a, img):
    tag = {"X-OpenStack-Request-ID": "req-00000000-0000-0000-0000-000000000007"}
    cloud.state.add_fault("error", route="member_create", status=503, after=True, times=1)
    assert add_member(a, img, headers=tag).status_code == 503
    assert add_member(a, img).status_code == 409
    a.delete(f"/v2/images/{img}/members/{B}", headers=tag)
    calls = [(c.route, c.member_id, c.status) for c in cloud.state.member_calls()]
    assert calls == [
        ("member_create", B, 200),  # applied, though the client saw a 503
        ("member_create", B, 409),
        ("member_delete", B, 204),
    ]
    assert [c.route for c in cloud.state.member_calls(tag["X-OpenStack-Request-ID"])] == [
        "member_create",
        "member_delete",
    ]


def test_a_late_change_is_logged_when_it_lands(cloud, a, img):
    cloud.state.add_fault("late", route="member_create", seconds=60)
    with pytest.raises(requests.exceptions.ReadTimeout):
        add_member(a, img)
    assert cloud.state.member_calls() == []
    cloud.state.apply_late()
    assert [(c.route, c.status) for c in cloud.state.member_calls()] == [("member_create", 200)]
