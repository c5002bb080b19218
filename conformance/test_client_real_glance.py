"""The dashboard's client (sharing.cloud) against real Glance 33.0.0, through the identity front.

Everything a test asserts about Glance's answers comes from real Glance. The front only issues
tokens and turns them into identity headers; where a test needs a failure real Glance cannot
produce on its own (a rate limit, an outage, a dropped connection) the front injects it, and
the test says so. The retried or settling calls then still go to real Glance.
"""

import pytest
from sharing.cloud import (
    AuthenticationFailed,
    BadRequest,
    Forbidden,
    HttpPolicy,
    ImagesClient,
    InvalidMarker,
    MemberLimitReached,
    NotFound,
    RateLimited,
    Unauthorized,
    Unavailable,
    UnknownOutcome,
    authenticate,
)

from conftest import keystone, rackspace
from front import KEYSTONE_REGION, REGION

# Glance's image_member_quota in glance/glance-api.conf.
MEMBER_QUOTA = 3
FAST = HttpPolicy(connect_timeout=5, read_timeout=30, total_seconds=5, backoff_base=0.01)


def client(front, project: str, **kwargs) -> ImagesClient:
    return ImagesClient(rackspace(front, project), REGION, **kwargs)


def forwarded_paths(front) -> list[str]:
    return [path for _, path, _ in front.forwarded]


# Identity, catalog and the endpoint root


@pytest.mark.parametrize("kind", ["rackspace-apikey", "rackspace-password"])
def test_rackspace_identity_gives_the_root_without_v2_and_versions_come_from_glance(
    front, project, kind
):
    owner = project("rax")
    auth = authenticate(rackspace(front, owner, kind))
    assert auth.tenant_id == owner
    # The catalog's publicURL is {front}/glance/v2: the client keeps the root without /v2.
    assert auth.root_for(REGION) == f"{front.base_url}/glance"
    assert auth.regions == ["DFW", "IAD"]
    with ImagesClient(rackspace(front, owner, kind), REGION) as images:
        versions = images.versions()
    assert versions.current == (2, 17)  # Glance 33.0.0's CURRENT
    assert versions.supports_shared_visibility
    assert forwarded_paths(front) == ["/versions"]


@pytest.mark.parametrize("kind", ["keystone-password", "keystone-appcred"])
def test_keystone_identity_picks_the_public_endpoint_and_lists_from_glance(
    front, glance, project, kind
):
    owner = project("ks")
    glance.image(owner, "ks-image")
    account = keystone(front, owner, kind)
    auth = authenticate(account)
    assert auth.tenant_id == owner
    assert auth.root_for(KEYSTONE_REGION) == f"{front.base_url}/glance"
    with ImagesClient(account, KEYSTONE_REGION) as images:
        assert [image.name for image in images.iter_images(owner=owner)] == ["ks-image"]
    assert all(path.startswith("/v2/images") for path in forwarded_paths(front))


def test_wrong_credentials_and_unknown_regions_fail_to_authenticate(front, project):
    account = rackspace(front, project("rax"))
    wrong = type(account)(account.auth_kind, account.identity_url, account.username, "nope")
    with pytest.raises(AuthenticationFailed) as failed:
        authenticate(wrong)
    assert failed.value.status == 401
    with pytest.raises(AuthenticationFailed, match="no image endpoint in region LON"):
        ImagesClient(account, "LON").list_images()  # a client authenticates on its first call


# Images: get, list, paging, filters


def test_get_image_reads_real_glance_fields(front, glance, project):
    owner = project("owner")
    image_id = glance.image(owner, "web-base", visibility="private")
    with client(front, owner) as images:
        image = images.get_image(image_id)
    assert (image.id, image.name, image.owner) == (image_id, "web-base", owner)
    assert (image.visibility, image.status) == ("private", "queued")
    assert (image.disk_format, image.container_format) == ("raw", "bare")
    assert image.created_at is not None and image.created_at.tzinfo is not None
    assert image.protected is False and image.tags == ()
    assert image.size is None and image.properties == {}


def test_an_active_image_with_properties_reads_cleanly(front, glance, project):
    owner = project("owner")
    image_id = glance.image(owner, "ubuntu", os_distro="ubuntu", image_type="base")
    glance.upload(owner, image_id, b"not really a disk")
    with client(front, owner) as images:
        image = images.get_image(image_id)
        [listed] = images.iter_images(owner=owner)
    assert (image.status, image.size) == ("active", 17)
    # Extra properties are kept; Glance's own fields (checksum, stores, ...) are not.
    assert image.properties == {"os_distro": "ubuntu", "image_type": "base"}
    assert listed == image


def test_paging_follows_next_to_the_empty_page_when_the_last_page_is_full(front, glance, project):
    owner = project("pager")
    names = [f"img-{n}" for n in range(4)]
    for name in names:
        glance.image(owner, name)
    with client(front, owner) as images:
        first = images.list_images(owner=owner, sort="name:asc", limit=2)
        assert [i.name for i in first.items] == names[:2]
        assert first.next_marker == first.items[-1].id
        # `next` is root-relative (/v2/images?...): joined to the root, never to .../v2.
        assert first.next_url.startswith(f"{front.base_url}/glance/v2/images?")
        listed = list(images.iter_images(owner=owner, sort="name:asc", limit=2))
    assert [i.name for i in listed] == names
    # Three requests for 4 images by 2: the last page is empty and has no `next`.
    paths = forwarded_paths(front)
    assert len(paths) == 4  # one list_images, then iter_images' three pages
    assert not any("/v2/v2" in path for path in paths)
    last = front.forwarded[-1]
    assert last[2] == 200 and "marker=" in last[1]


def test_filters_reach_glance(front, glance, project):
    owner, consumer = project("owner"), project("consumer")
    offered = glance.image(owner, "offered")
    accepted = glance.image(owner, "accepted")
    glance.image(owner, "private", visibility="private")
    glance.member(owner, offered, consumer)
    glance.member(owner, accepted, consumer)
    with client(front, consumer) as images:
        images.update_member_status(accepted, consumer, "accepted")

        def names(**filters) -> list[str]:
            return sorted(i.name for i in images.iter_images(owner=owner, **filters))

        assert names() == ["accepted"]
        assert names(member_status="pending", visibility="shared") == ["offered"]
        assert names(member_status="all") == ["accepted", "offered"]
        assert names(member_status="rejected") == []
        assert names(visibility="private") == []
    with client(front, owner) as images:
        assert sorted(i.name for i in images.iter_images(visibility="private")) == ["private"]


def test_bad_list_parameters_are_bad_requests_and_an_unseen_marker_is_forbidden(
    front, glance, project
):
    owner, stranger = project("owner"), project("stranger")
    hidden = glance.image(owner, "hidden", visibility="private")
    with client(front, stranger) as images:
        with pytest.raises(BadRequest) as bad:
            images.list_images(visibility="everyone")
        assert bad.value.status == 400 and bad.value.request_id.startswith("req-")
        # A marker the cloud refuses is the caller's fault, whatever Glance answers (400, 403).
        with pytest.raises(InvalidMarker, match="No image found with ID") as unknown:
            images.list_images(marker="6f1c2b8e-3d7a-4c55-9a43-0bd0f0b9b5d1")
        assert unknown.value.status == 400
        with pytest.raises(InvalidMarker, match="not visible") as unseen:
            images.list_images(marker=hidden)
        assert unseen.value.status == 403
        with pytest.raises(NotFound) as missing:
            images.get_image(hidden)
    assert missing.value.status == 404


# Members: the whole lifecycle, as owner and as consumer


def test_member_lifecycle_as_owner_and_consumer(front, glance, project):
    owner, consumer = project("owner"), project("consumer")
    image_id = glance.image(owner, "golden")
    with client(front, owner) as producer, client(front, consumer) as taker:
        created = producer.create_member(image_id, consumer)
        assert created.created and created.http_status == 200
        assert (created.member.member_id, created.member.status) == (consumer, "pending")
        assert created.request_id.startswith("req-")

        again = producer.create_member(image_id, consumer)  # 409 from Glance
        assert not again.created and again.http_status == 409
        assert again.member.status == "pending"

        assert [m.member_id for m in producer.list_members(image_id)] == [consumer]
        assert taker.get_member(image_id, consumer).status == "pending"
        assert taker.get_image(image_id).name == "golden"  # a member sees it whatever its status
        assert [i.id for i in taker.iter_images()] == []  # but pending is not in the list

        for status in ("accepted", "rejected", "pending", "accepted"):
            result = taker.update_member_status(image_id, consumer, status)
            assert result.member.status == status and result.http_status == 200
        assert [i.id for i in taker.iter_images()] == [image_id]

        with pytest.raises(Forbidden, match="modify_member"):
            producer.update_member_status(image_id, consumer, "rejected")
        with pytest.raises(Forbidden, match="delete_member"):
            taker.delete_member(image_id, consumer)

        receipt = producer.delete_member(image_id, consumer)
        assert receipt.http_status == 204 and receipt.request_id.startswith("req-")
        with pytest.raises(NotFound):
            producer.delete_member(image_id, consumer)
        with pytest.raises(NotFound):
            taker.get_image(image_id)
        assert producer.list_members(image_id) == []

        readded = producer.create_member(image_id, consumer)
        assert readded.created and readded.member.status == "pending"


def test_a_stranger_sees_404_and_a_member_cannot_share_further(front, glance, project):
    owner, consumer, stranger = project("owner"), project("consumer"), project("stranger")
    image_id = glance.image(owner, "golden")
    glance.member(owner, image_id, consumer)
    with client(front, stranger) as images:
        with pytest.raises(NotFound):
            images.create_member(image_id, stranger)
        with pytest.raises(NotFound):
            images.list_members(image_id)
    with client(front, consumer) as images:
        with pytest.raises(Forbidden, match="add_member"):
            images.create_member(image_id, stranger)
        assert [m.member_id for m in images.list_members(image_id)] == [consumer]


def test_a_private_image_refuses_members_until_the_client_makes_it_shared(front, glance, project):
    owner, consumer = project("owner"), project("consumer")
    image_id = glance.image(owner, "snapshot", visibility="private")
    with client(front, owner) as images:
        with pytest.raises(Forbidden, match="Not allowed to create members") as refused:
            images.create_member(image_id, consumer)
        assert refused.value.status == 403
        assert "<br" not in refused.value.message
        result = images.make_image_shared(image_id)
        assert result.image.visibility == "shared" and result.http_status == 200
        assert images.create_member(image_id, consumer).created


def test_line_properties_are_set_replaced_removed_and_filtered_by_real_glance(
    front, glance, project
):
    owner = project("owner")
    image_id = glance.image(owner, "web-base", provided_until="2027-01-01")
    with client(front, owner) as images:
        first = images.update_image_properties(
            image_id, {"image_line": "web", "image_line_version": "1", "provided_until": None}
        )
        assert first.http_status == 200
        assert first.image.properties == {"image_line": "web", "image_line_version": "1"}
        again = images.update_image_properties(image_id, {"image_line": "web"})
        assert again.http_status is None  # nothing to change: nothing sent
        images.update_image_properties(image_id, {"image_line_state": "deprecated"})
        [found] = images.iter_images(owner=owner, properties={"image_line": "web"})
        assert found.properties["image_line_state"] == "deprecated"
        assert list(images.iter_images(owner=owner, properties={"image_line": "other"})) == []


def test_the_member_quota_is_not_a_rate_limit_and_is_not_retried(front, glance, project):
    owner = project("owner")
    image_id = glance.image(owner, "popular")
    with client(front, owner, policy=FAST) as images:
        for n in range(MEMBER_QUOTA):
            images.create_member(image_id, f"{owner}-m{n}")
        with pytest.raises(MemberLimitReached) as full:
            images.create_member(image_id, f"{owner}-extra")
        assert full.value.status == 413 and not full.value.retryable
        # Glance checks the quota before duplicates: an existing member on a full image is
        # a 413 too, which the client reports as already shared.
        existing = images.create_member(image_id, f"{owner}-m0")
        assert not existing.created and existing.http_status == 413
    posts = [entry for entry in front.forwarded if entry[0] == "POST"]
    assert [status for _, _, status in posts] == [200, 200, 200, 413, 413]


# Tokens: expiry and refusal


def test_a_revoked_token_is_replaced_once(front, glance, project):
    owner = project("owner")
    image_id = glance.image(owner, "web")
    with client(front, owner) as images:
        assert images.tenant_id  # a client authenticates on its first use
        assert front.token_requests == 1
        front.revoke_tokens()
        assert images.get_image(image_id).id == image_id
    assert front.token_requests == 2
    assert [status for _, _, status in front.forwarded] == [401, 200]


def test_glance_refusing_the_caller_is_unauthorized_after_one_new_token(front, project):
    # The front forwards a ghost's requests without identity headers: Glance answers 401.
    with client(front, project("ghost")) as images, pytest.raises(Unauthorized) as refused:
        images.list_images()
    assert refused.value.status == 401
    assert front.token_requests == 2  # authenticated again, once
    assert [status for _, _, status in front.forwarded] == [401, 401]


# Failures the front injects (Glance has no rate limits or outages of its own)


def test_rate_limits_are_retried_then_reported(front, glance, project):
    owner = project("owner")
    glance.image(owner, "web")
    with client(front, owner, policy=FAST) as images:
        front.fail("GET", r"^/v2/images\?", status=429, retry_after="0", times=2)
        assert [i.name for i in images.list_images(owner=owner).items] == ["web"]
        overlimit = {"overLimit": {"code": 413, "message": "OverLimit Retry..."}}
        front.fail("GET", r"^/v2/images\?", status=413, retry_after="0", times=9, body=overlimit)
        with pytest.raises(RateLimited) as limited:
            images.list_images(owner=owner)
    assert limited.value.retry_after == 0 and limited.value.retryable
    assert [status for _, _, status in front.forwarded] == [429, 429, 200, 413, 413, 413, 413]


def test_outages_are_retried_for_reads_and_reported_as_unavailable(front, glance, project):
    owner = project("owner")
    image_id = glance.image(owner, "web")
    with client(front, owner, policy=FAST) as images:
        front.fail("GET", image_id, "reset-before", times=1)
        assert images.get_image(image_id).id == image_id
        front.fail("GET", image_id, status=503, times=9)
        with pytest.raises(Unavailable) as down:
            images.get_image(image_id)
    assert down.value.status == 503 and down.value.retryable


def test_a_create_that_got_no_answer_is_settled_by_reading_the_member_from_glance(
    front, glance, project
):
    owner, done, lost, unknown = (project(p) for p in ("owner", "done", "lost", "unknown"))
    image_id = glance.image(owner, "golden")
    members = rf"/v2/images/{image_id}/members"
    with client(front, owner, policy=FAST) as images:
        # Glance made the member but the answer was lost: the client reads it back.
        front.fail("POST", members + "$", "reset-after")
        settled = images.create_member(image_id, done)
        assert settled.created and settled.http_status is None
        assert settled.member.status == "pending"
        # The connection was reset before Glance saw the request: the read finds nothing, but
        # a request that was sent may still arrive, so the outcome is unknown, not "not shared"
        # (docs/design.md, "Settling outcomes").
        front.fail("POST", members + "$", "reset-before")
        with pytest.raises(UnknownOutcome, match="not a member yet, but the request may still"):
            images.create_member(image_id, lost)
        # Neither the create nor the read got an answer: the outcome stays unknown.
        front.fail("POST", members + "$", "reset-before")
        front.fail("GET", members + "/" + unknown, status=503, times=9)
        with pytest.raises(UnknownOutcome):
            images.create_member(image_id, unknown)
        assert [m.member_id for m in images.list_members(image_id)] == [done]
    creates = [e for e in front.forwarded if e[0] == "POST"]
    assert [status for _, _, status in creates] == [200, "reset", "reset"]
