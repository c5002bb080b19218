"""Images and members, over HTTP against the built-in cloud: parsing, paging, errors, re-auth,
retries and the settling of a share whose answer was lost."""

import pytest
import requests

from builtin_cloud import running_server
from sharing.cloud import (
    BadRequest,
    CloudAccount,
    Forbidden,
    HttpPolicy,
    Image,
    ImagesClient,
    InvalidMarker,
    Member,
    MemberLimitReached,
    NotFound,
    RateLimited,
    Unauthorized,
    Unavailable,
    UnknownOutcome,
)

from .conftest import BASE

ACME, GLOBEX = "100001", "100002"
FAST = HttpPolicy(read_timeout=2, max_attempts=3, backoff_base=0.001, backoff_cap=0.002)


def account(name: str = "acme", base: str = BASE) -> CloudAccount:
    return CloudAccount("rackspace-apikey", f"{base}/identity", f"{name}-admin", f"{name}-key")


@pytest.fixture
def acme(session) -> ImagesClient:
    return ImagesClient(account("acme"), "IAD", session=session, policy=FAST)


@pytest.fixture
def globex(session) -> ImagesClient:
    return ImagesClient(account("globex"), "IAD", session=session, policy=FAST)


@pytest.fixture
def image_id(state) -> str:
    return state.create_image(owner=ACME, name="web-base")["id"]


# Versions and images


def test_the_client_knows_its_root_and_tenant(acme):
    assert acme.root == f"{BASE}/iad/images"
    assert acme.tenant_id == ACME


@pytest.mark.parametrize(("served", "shared"), [("2.15", True), ("2.5", True), ("2.4", False)])
def test_versions_tell_whether_images_must_be_shared_first(state, acme, served, shared):
    state.api_version = served

    versions = acme.versions()

    assert versions.current == tuple(int(part) for part in served.split("."))
    assert versions.supports_shared_visibility is shared


def test_it_reads_an_images_fields_and_extra_properties(state, acme):
    created = state.create_image(
        owner=ACME, name="web-base", tags=["web"], min_ram=512, os_distro="ubuntu"
    )

    image = acme.get_image(created["id"])

    assert image.name == "web-base"
    assert image.owner == ACME
    assert image.visibility == "shared"
    assert image.size == 10 * 1024**3
    assert image.min_ram == 512
    assert image.tags == ("web",)
    assert image.created_at.tzinfo is not None
    assert image.properties == {"os_distro": "ubuntu"}


def test_an_image_needs_nothing_but_an_id():
    image = Image.from_api({"id": "abc"})

    assert image == Image(id="abc")


def test_mistyped_and_unknown_image_fields_are_ignored():
    image = Image.from_api(
        {
            "id": "abc",
            "name": 7,
            "size": "big",
            "protected": "yes",
            "created_at": "never",
            "tags": "web",
            "nested": {"a": 1},
            "note": "kept",
        }
    )

    assert image == Image(id="abc", properties={"note": "kept"})


def test_an_image_without_an_id_is_refused():
    with pytest.raises(ValueError):
        Image.from_api({"name": "nameless"})


def test_a_numeric_member_id_is_read_as_a_string():
    member = Member.from_api({"member_id": 12345, "image_id": "abc", "status": "pending"})

    assert member.member_id == "12345"


def test_a_page_gives_the_next_marker_and_a_url_under_the_root(state, acme):
    for number in range(3):
        state.create_image(owner=ACME, name=f"image-{number}")

    page = acme.list_images(limit=2, sort="name:asc")

    assert [image.name for image in page.items] == ["image-0", "image-1"]
    assert page.next_marker == page.items[-1].id
    # The root has a path of its own (/iad/images): the link is appended, not urljoin-ed.
    assert page.next_url.startswith(f"{BASE}/iad/images/v2/images?")


def test_iter_images_follows_next_through_an_empty_last_page(state, acme):
    for number in range(6):
        state.create_image(owner=ACME, name=f"image-{number}")

    names = [image.name for image in acme.iter_images(limit=3, sort="name:asc")]

    assert names == [f"image-{number}" for number in range(6)]
    assert state.calls("images_list") == 3  # 3 + 3 + an empty page without `next`


def test_filters_reach_the_cloud(state, globex, image_id):
    state.add_member(image_id, GLOBEX, "pending")

    pending = globex.list_images(visibility="shared", member_status="pending")
    accepted = globex.list_images(visibility="shared")

    assert [image.id for image in pending.items] == [image_id]
    assert accepted.items == []


def test_a_bad_filter_is_a_bad_request(acme):
    with pytest.raises(BadRequest, match="Invalid sort key") as caught:
        acme.list_images(sort="colour:asc")

    assert caught.value.status == 400


def test_a_marker_the_cloud_does_not_know_is_an_invalid_marker_not_a_cloud_failure(acme):
    with pytest.raises(InvalidMarker) as caught:
        acme.list_images(marker="null")

    assert (caught.value.status, caught.value.retryable) == (400, False)
    assert caught.value.request_id


def test_a_refused_list_without_a_marker_stays_a_bad_request(acme):
    with pytest.raises(BadRequest) as caught:
        acme.list_images(sort="colour:asc")

    assert not isinstance(caught.value, InvalidMarker)


def test_another_accounts_private_image_is_not_found(state, globex):
    private = state.create_image(owner=ACME, visibility="private")["id"]

    with pytest.raises(NotFound) as caught:
        globex.get_image(private)

    assert caught.value.message == f"No image found with ID {private}"
    assert caught.value.request_id.startswith("req-")


def test_it_makes_a_private_image_shared(state, acme):
    private = state.create_image(owner=ACME, visibility="private")["id"]

    result = acme.make_image_shared(private)

    assert result.image.visibility == "shared"
    assert result.http_status == 200
    assert result.request_id.startswith("req-")


# Members


def test_sharing_creates_a_pending_member_with_a_receipt(acme, image_id):
    result = acme.create_member(image_id, GLOBEX)

    assert result.created is True
    assert result.member == Member(
        image_id, GLOBEX, "pending", result.member.created_at, result.member.updated_at
    )
    assert result.http_status == 200
    assert result.request_id.startswith("req-")


def test_sharing_again_reports_the_existing_member_and_its_status(state, acme, image_id):
    state.add_member(image_id, GLOBEX, "accepted")

    result = acme.create_member(image_id, GLOBEX)

    assert result.created is False
    assert result.member.status == "accepted"
    assert result.http_status == 409
    assert result.request_id.startswith("req-")


def test_sharing_a_private_image_is_forbidden_in_plain_words(state, acme):
    private = state.create_image(owner=ACME, visibility="private")["id"]

    with pytest.raises(Forbidden) as caught:
        acme.create_member(private, GLOBEX)

    assert caught.value.message == f"Not allowed to create members for image {private}."
    assert caught.value.status == 403


def test_it_lists_and_gets_members(state, acme, image_id):
    state.add_member(image_id, GLOBEX, "accepted")
    state.add_member(image_id, "100003", "pending")

    members = acme.list_members(image_id)

    assert [(m.member_id, m.status) for m in members] == [
        (GLOBEX, "accepted"),
        ("100003", "pending"),
    ]
    assert acme.get_member(image_id, "100003").status == "pending"


def test_the_consumer_accepts_a_share(state, globex, image_id):
    state.add_member(image_id, GLOBEX, "pending")

    result = globex.update_member_status(image_id, GLOBEX, "accepted")

    assert result.member.status == "accepted"
    assert result.created is False
    assert result.http_status == 200
    assert state.member_status(image_id, GLOBEX) == "accepted"


def test_the_owner_cannot_accept_for_the_consumer(state, acme, image_id):
    state.add_member(image_id, GLOBEX, "pending")

    with pytest.raises(Forbidden, match="modify_member"):
        acme.update_member_status(image_id, GLOBEX, "accepted")


def test_an_unknown_member_status_is_refused_before_any_call(state, globex, image_id):
    with pytest.raises(ValueError, match="pending, accepted, rejected"):
        globex.update_member_status(image_id, GLOBEX, "maybe")

    assert state.calls("member_update") == 0


def test_revoking_deletes_the_member_with_a_receipt(state, acme, image_id):
    state.add_member(image_id, GLOBEX, "accepted")

    receipt = acme.delete_member(image_id, GLOBEX)

    assert receipt.http_status == 204
    assert receipt.request_id.startswith("req-")
    with pytest.raises(NotFound, match="not found in the member list"):
        acme.get_member(image_id, GLOBEX)


def test_the_member_limit_is_not_a_rate_limit(state, acme, image_id):
    state.member_limit = 1
    acme.create_member(image_id, GLOBEX)

    with pytest.raises(MemberLimitReached) as caught:
        acme.create_member(image_id, "100003")

    assert caught.value.status == 413
    assert caught.value.message.startswith("Image member limit exceeded")
    assert not caught.value.retryable


@pytest.mark.parametrize(("status", "retry_after"), [(413, "7"), (429, "0")])
def test_a_rate_limited_share_is_reported_not_retried(state, acme, image_id, status, retry_after):
    state.add_fault("rate_limit", route="member_create", status=status, retry_after=retry_after)

    with pytest.raises(RateLimited) as caught:
        acme.create_member(image_id, GLOBEX)

    assert caught.value.retry_after == float(retry_after)
    assert caught.value.retryable
    assert state.calls("member_create") == 1


def test_a_share_that_fails_with_a_server_error_is_not_retried(state, acme, image_id):
    state.add_fault("error", route="member_create", status=500)

    with pytest.raises(Unavailable):
        acme.create_member(image_id, GLOBEX)

    assert state.calls("member_create") == 1


@pytest.mark.parametrize("kind", ["timeout", "reset"])
def test_a_share_whose_answer_was_lost_after_the_change_is_settled_as_created(
    state, acme, image_id, kind
):
    state.add_fault(kind, route="member_create", after=True, times=1)

    result = acme.create_member(image_id, GLOBEX)

    assert result.created is True
    assert result.member.member_id == GLOBEX
    assert result.http_status is None
    assert result.request_id.startswith("req-")  # the settling read's
    assert state.calls("member_create") == 1
    assert state.calls("member_get") == 1


@pytest.mark.parametrize("kind", ["timeout", "reset"])
def test_a_share_lost_before_the_change_is_unknown_as_it_may_still_arrive(
    state, acme, image_id, kind
):
    state.add_fault(kind, route="member_create", times=1)

    with pytest.raises(UnknownOutcome, match="not a member yet, but the request may still arrive"):
        acme.create_member(image_id, GLOBEX)

    assert state.member(image_id, GLOBEX) is None
    assert state.calls("member_create") == 1
    assert state.calls("member_get") == 1


@pytest.mark.parametrize("status", [500, 503])
def test_a_share_answered_5xx_before_the_change_is_not_done(state, acme, image_id, status):
    state.add_fault("error", route="member_create", status=status, times=1)

    with pytest.raises(Unavailable, match="was not shared with 100002; try again") as caught:
        acme.create_member(image_id, GLOBEX)

    assert not isinstance(caught.value, UnknownOutcome)
    assert caught.value.status == status
    assert state.member(image_id, GLOBEX) is None


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_share_applied_then_answered_5xx_is_created(state, acme, image_id, status):
    state.add_fault("error", route="member_create", status=status, after=True, times=1)

    result = acme.create_member(image_id, GLOBEX)

    assert result.created is True
    assert result.member.member_id == GLOBEX
    assert result.http_status == status
    assert state.calls("member_create") == 1


def test_a_gateway_timeout_before_the_change_is_unknown(state, acme, image_id):
    state.add_fault("error", route="member_create", status=504, times=1)

    with pytest.raises(UnknownOutcome):
        acme.create_member(image_id, GLOBEX)


@pytest.mark.parametrize("kind", ["timeout", "reset"])
def test_a_revoke_applied_but_never_answered_succeeds(state, acme, image_id, kind):
    acme.create_member(image_id, GLOBEX)
    state.add_fault(kind, route="member_delete", after=True)  # every try

    receipt = acme.delete_member(image_id, GLOBEX)

    assert state.member(image_id, GLOBEX) is None
    assert "gone" in receipt.note


@pytest.mark.parametrize("kind", ["timeout", "reset"])
def test_a_revoke_whose_first_try_was_applied_meets_404_and_succeeds(state, acme, image_id, kind):
    acme.create_member(image_id, GLOBEX)
    state.add_fault(kind, route="member_delete", after=True, times=1)

    receipt = acme.delete_member(image_id, GLOBEX)

    assert receipt.http_status == 404
    assert receipt.note == "An earlier try was applied: the member is gone."
    assert state.calls("member_delete") == 2


@pytest.mark.parametrize("status", [413, 429])
def test_a_revoke_applied_then_rate_limited_until_the_retries_ran_out_succeeds(
    state, acme, image_id, status
):
    acme.create_member(image_id, GLOBEX)
    state.add_fault("reset", route="member_delete", after=True, times=1)
    state.add_fault("rate_limit", route="member_delete", status=status)

    receipt = acme.delete_member(image_id, GLOBEX)

    assert state.member(image_id, GLOBEX) is None
    assert "gone" in receipt.note


def test_a_revoke_rate_limited_every_time_fails_as_the_member_is_still_there(state, acme, image_id):
    acme.create_member(image_id, GLOBEX)
    state.add_fault("rate_limit", route="member_delete", status=429)

    with pytest.raises(RateLimited):
        acme.delete_member(image_id, GLOBEX)

    assert state.member(image_id, GLOBEX) is not None


def test_a_revoke_of_a_tenant_that_never_was_a_member_is_not_found(state, acme, image_id):
    with pytest.raises(NotFound):
        acme.delete_member(image_id, GLOBEX)


def test_a_revoke_never_applied_and_never_answered_is_unknown(state, acme, image_id):
    acme.create_member(image_id, GLOBEX)
    state.add_fault("timeout", route="member_delete")  # before the change, every try

    with pytest.raises(UnknownOutcome, match="still a member, but the request may still arrive"):
        acme.delete_member(image_id, GLOBEX)

    assert state.member(image_id, GLOBEX) is not None


def test_a_revoke_refused_with_5xx_every_time_fails_as_the_member_is_still_there(
    state, acme, image_id
):
    acme.create_member(image_id, GLOBEX)
    state.add_fault("error", route="member_delete", status=503)

    with pytest.raises(Unavailable) as caught:
        acme.delete_member(image_id, GLOBEX)

    assert not isinstance(caught.value, UnknownOutcome)
    assert state.member(image_id, GLOBEX) is not None


def test_the_settling_read_is_retried(state, acme, image_id):
    state.add_fault("timeout", route="member_create", after=True, times=1)
    state.add_fault("error", route="member_get", status=503, times=1)

    assert acme.create_member(image_id, GLOBEX).created is True
    assert state.calls("member_get") == 2


def test_a_share_that_cannot_be_settled_is_an_unknown_outcome(state, acme, image_id):
    state.add_fault("timeout", route="member_create", after=True, times=1)
    state.add_fault("error", route="member_get", status=503)

    with pytest.raises(UnknownOutcome, match="could not be checked") as caught:
        acme.create_member(image_id, GLOBEX)

    assert caught.value.retryable
    assert state.calls("member_create") == 1
    assert state.calls("member_get") == FAST.max_attempts


# Tokens


def test_page_views_with_a_cached_token_never_authenticate(state, session):
    for _view in range(3):
        ImagesClient(account(), "IAD", session=session).list_images()

    assert state.calls("identity_rackspace") == 1


def test_an_expired_token_is_renewed_once_and_the_call_repeated(state, session, acme):
    assert acme.tenant_id == "100001"  # authenticated: a client does so on first use
    state.expire_tokens()

    acme.list_images()
    ImagesClient(account(), "IAD", session=session).list_images()  # the next view

    assert state.calls("identity_rackspace") == 2
    assert state.calls("images_list") == 3


def test_a_second_401_is_unauthorized(state, acme):
    state.add_fault("error", route="images_list", status=401, times=2)

    with pytest.raises(Unauthorized, match="rejected the credentials of acme-admin") as caught:
        acme.list_images()

    assert caught.value.status == 401
    assert state.calls("identity_rackspace") == 2


def test_a_share_refused_with_401_is_repeated_once_with_a_new_token(state, acme, image_id):
    assert acme.tenant_id == "100001"
    state.expire_tokens()

    assert acme.create_member(image_id, GLOBEX).created is True
    assert state.calls("member_create") == 2


# Retries of idempotent calls


def test_reads_are_retried_after_server_errors(state, acme):
    state.add_fault("error", route="images_list", status=503, times=2)

    acme.list_images()

    assert state.calls("images_list") == 3


def test_retries_stop_after_the_last_attempt(state, acme):
    state.add_fault("error", route="images_list", status=502)

    with pytest.raises(Unavailable) as caught:
        acme.list_images()

    assert caught.value.status == 502
    assert state.calls("images_list") == FAST.max_attempts


def test_a_rate_limited_read_waits_for_retry_after(state, acme, image_id):
    state.add_fault("rate_limit", route="image_get", retry_after="0", times=1)

    assert acme.get_image(image_id).id == image_id
    assert state.calls("image_get") == 2


def test_a_lost_revoke_is_retried(state, acme, image_id):
    state.add_member(image_id, GLOBEX, "accepted")
    state.add_fault("reset", route="member_delete", times=1)

    assert acme.delete_member(image_id, GLOBEX).http_status == 204
    assert state.calls("member_delete") == 2


def test_status_updates_and_visibility_patches_are_retried(state, acme, globex, image_id):
    state.add_member(image_id, GLOBEX, "pending")
    state.add_fault("error", route="member_update", status=500, times=1)
    state.add_fault("timeout", route="image_patch", times=1)

    globex.update_member_status(image_id, GLOBEX, "rejected")
    acme.make_image_shared(image_id)

    assert state.calls("member_update") == 2
    assert state.calls("image_patch") == 2


# Over a real socket


@pytest.fixture
def served(app):
    with running_server(app) as base_url:
        yield base_url


def socket_client(base_url: str) -> ImagesClient:
    policy = HttpPolicy(read_timeout=0.2, max_attempts=2, backoff_base=0.001)
    return ImagesClient(account(base=base_url), "IAD", session=requests.Session(), policy=policy)


def test_a_read_that_times_out_on_a_socket_is_unavailable(state, served):
    client = socket_client(served)
    state.add_fault("timeout", route="images_list", seconds=2)

    with pytest.raises(Unavailable, match="did not answer in time"):
        client.list_images()

    assert state.calls("images_list") == 2


def test_a_reset_connection_on_a_socket_is_retried(state, served):
    client = socket_client(served)
    state.add_fault("reset", route="images_list", times=1)

    client.list_images()

    assert state.calls("images_list") == 2


def test_a_share_timing_out_on_a_socket_after_the_change_is_settled(state, served, image_id):
    client = socket_client(served)
    state.add_fault("timeout", route="member_create", after=True, seconds=2, times=1)

    assert client.create_member(image_id, GLOBEX).created is True
