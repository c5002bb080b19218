"""The built-in cloud's image members against real Glance 33 (docs/builtin-cloud.md).

Each test names the rows it reproduces. Everything goes over HTTP through the adapter.
"""

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from builtin_cloud import CloudState

from .glance_cast import ADMIN, B, C, FakeCloud, GlanceClient

BAD_STATUS = 'Incorrect request: Status must be "pending", "accepted" or "rejected".'


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
def b(cloud: FakeCloud) -> GlanceClient:
    return cloud.client("b")


@pytest.fixture
def c(cloud: FakeCloud) -> GlanceClient:
    return cloud.client("c")


@pytest.fixture
def img(a: GlanceClient) -> str:
    """Row 3: A creates a shared image."""
    response = a.post("/v2/images", json={"name": "probe-shared", "visibility": "shared"})
    assert response.status_code == 201
    return response.json()["id"]


@pytest.fixture
def shared(a: GlanceClient, img: str) -> str:
    """Row 8: A adds B as a member."""
    assert a.post(f"/v2/images/{img}/members", json={"member": B}).status_code == 200
    return img


def message(response) -> str:
    """Glance's error text without WebOb's `<br />` trailer."""
    body = response.json()
    assert body["message"].endswith("<br /><br />\n\n\n")
    assert body["code"].startswith(str(response.status_code))
    return body["message"].removesuffix("<br /><br />\n\n\n")


def names(client: GlanceClient, query: str = "") -> list[str]:
    return client.image_names(query)


def test_a_new_member_is_pending_and_the_owner_and_member_can_read_it(a, b, img):
    response = a.post(f"/v2/images/{img}/members", json={"member": B})  # row 8
    assert response.status_code == 200
    assert response.json()["member_id"] == B
    assert response.json()["status"] == "pending"  # row 9
    assert response.json()["schema"] == "/v2/schemas/member"
    owner_list = a.get(f"/v2/images/{img}/members")  # rows 10-11
    assert [m["member_id"] for m in owner_list.json()["members"]] == [B]
    assert owner_list.json()["schema"] == "/v2/schemas/members"
    assert a.get(f"/v2/images/{img}/members/{B}").json()["status"] == "pending"  # row 12
    assert b.get(f"/v2/images/{img}/members/{B}").status_code == 200  # row 13
    assert len(b.get(f"/v2/images/{img}/members").json()["members"]) == 1  # row 14


def test_a_pending_member_can_get_the_image_but_not_in_its_default_list(b, c, shared):
    assert b.get(f"/v2/images/{shared}").status_code == 200  # row 15
    assert "probe-shared" in names(b, "&member_status=pending&visibility=shared")  # 17-18
    default = b.get("/v2/images")  # rows 19-20
    assert default.json() == {"images": [], "first": "/v2/images", "schema": "/v2/schemas/images"}
    other = c.get("/v2/images?member_status=pending&visibility=shared")  # rows 21-22
    assert other.json()["images"] == []
    assert other.json()["first"] == "/v2/images?member_status=pending&visibility=shared"


def test_accepting_puts_the_image_in_the_members_default_list(b, shared):
    response = b.put(f"/v2/images/{shared}/members/{B}", json={"status": "accepted"})  # 23
    assert response.status_code == 200
    assert response.json()["status"] == "accepted"
    assert names(b) == ["probe-shared"]  # rows 24-25
    assert names(b, "&member_status=accepted&visibility=shared") == ["probe-shared"]  # 26-27


def test_a_rejected_member_still_reads_the_image_and_lists_it_only_when_asked(cloud, b, shared):
    response = b.put(f"/v2/images/{shared}/members/{B}", json={"status": "rejected"})  # 29
    assert response.json()["status"] == "rejected"
    assert b.get(f"/v2/images/{shared}").status_code == 200  # row 30
    assert names(b, "&member_status=rejected&visibility=shared") == ["probe-shared"]  # 32-33
    assert names(b, "&member_status=all") == ["probe-shared"]  # rows 34-35
    assert names(b) == []
    back = b.put(f"/v2/images/{shared}/members/{B}", json={"status": "pending"})  # row 36
    assert back.status_code == 200
    assert cloud.state.member_status(shared, B) == "pending"


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"status": "bogus"}, BAD_STATUS),  # row 37
        ({"stat": "accepted"}, "Status not specified"),  # row 38
        (["accepted"], 'Expected a status in the form: {"status": "status"}'),
    ],
)
def test_a_bad_status_body_gets_400(b, shared, body, text):
    response = b.put(f"/v2/images/{shared}/members/{B}", json=body)
    assert response.status_code == 400
    assert message(response) == text


def test_the_owner_cannot_accept_for_the_member(cloud, a, shared):
    response = a.put(f"/v2/images/{shared}/members/{B}", json={"status": "accepted"})  # row 39
    assert response.status_code == 403
    assert message(response) == "You are not authorized to complete modify_member action."
    assert cloud.state.member_status(shared, B) == "pending"


def test_a_member_updating_someone_elses_membership_gets_404(b, shared):
    response = b.put(f"/v2/images/{shared}/members/{C}", json={"status": "accepted"})  # row 40
    assert response.status_code == 404
    assert message(response) == f"{C} not found in the member list of the image {shared}."


def test_adding_the_same_member_twice_gets_409(a, shared):
    response = a.post(f"/v2/images/{shared}/members", json={"member": B})  # row 41
    assert response.status_code == 409
    assert message(response) == f"Member {B} is duplicated for image {shared}"


def test_a_stranger_gets_404_adding_listing_or_reading_members(c, shared):
    for response in (
        c.post(f"/v2/images/{shared}/members", json={"member": C}),  # row 42
        c.get(f"/v2/images/{shared}/members"),  # row 44
        c.get(f"/v2/images/{shared}/members/{B}"),  # row 45
    ):
        assert response.status_code == 404
        assert message(response) == f"Image {shared} not found."


def test_a_member_cannot_add_members(b, shared):
    response = b.post(f"/v2/images/{shared}/members", json={"member": C})  # row 43
    assert response.status_code == 403
    assert message(response) == "You are not authorized to complete add_member action."


def test_a_member_cannot_delete_its_own_membership(cloud, b, shared):
    response = b.delete(f"/v2/images/{shared}/members/{B}")  # row 46
    assert response.status_code == 403
    assert message(response) == "You are not authorized to complete delete_member action."
    assert cloud.state.member_status(shared, B) == "pending"


def test_an_owner_with_only_the_reader_role_cannot_add_members(cloud, shared):
    reader = cloud.client("a-reader")
    response = reader.post(f"/v2/images/{shared}/members", json={"member": C})  # row 47
    assert response.status_code == 403
    assert message(response) == "You are not authorized to complete add_member action."


def test_getting_a_member_that_does_not_exist_gets_404(a, shared):
    response = a.get(f"/v2/images/{shared}/members/{C}")  # row 48
    assert response.status_code == 404
    assert message(response) == f"{C} not found in the member list of the image {shared}."


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ("{not json", "Malformed JSON in request body."),  # row 49
        ('{"members": "x"}', "Member to be added not specified"),  # row 50
        ("{}", "Member to be added not specified"),  # row 51
        ('{"member": ""}', "Member can't be empty"),  # row 52
        ('{"member": null}', "Member can't be empty"),  # row 53
        ('["tenant-b"]', 'Expected a member in the form: {"member": "image_id"}'),  # row 54
        ("", "Body expected in request."),  # row 55
    ],
)
def test_a_bad_member_body_gets_400_with_glances_text(a, img, data, text):
    response = a.post(
        f"/v2/images/{img}/members", data=data, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert message(response) == text


def test_member_calls_on_an_unknown_image_get_404(a):
    unknown = "00000000-0000-4000-8000-000000000000"
    for response in (
        a.post(f"/v2/images/{unknown}/members", json={"member": B}),  # row 56
        a.get(f"/v2/images/{unknown}/members"),  # row 57
    ):
        assert response.status_code == 404
        assert message(response) == f"Image {unknown} not found."


def test_deleting_a_member_takes_the_image_away_from_it(a, b, shared):
    assert a.delete(f"/v2/images/{shared}/members/{B}").status_code == 204  # row 58
    again = a.delete(f"/v2/images/{shared}/members/{B}")  # row 59
    assert again.status_code == 404
    assert message(again) == f"{B} not found in the member list of the image {shared}."
    listed = a.get(f"/v2/images/{shared}/members")  # rows 60-61
    assert listed.json() == {"members": [], "schema": "/v2/schemas/members"}
    assert names(b, "&member_status=pending&visibility=shared") == []  # rows 62-63
    gone = b.get(f"/v2/images/{shared}")  # row 64
    assert gone.status_code == 404
    assert message(gone) == f"No image found with ID {shared}"


def test_a_deleted_member_added_again_starts_pending(cloud, a, b, shared):
    b.put(f"/v2/images/{shared}/members/{B}", json={"status": "rejected"})
    a.delete(f"/v2/images/{shared}/members/{B}")
    response = a.post(f"/v2/images/{shared}/members", json={"member": B})
    assert response.json()["status"] == "pending"
    assert cloud.state.member_status(shared, B) == "pending"


def test_a_member_added_again_keeps_its_row_its_place_and_its_created_at(cloud, a, img):
    # Glance 33 reuses the deleted member's row (conformance run): the member comes back in
    # its old place in the list, with its first created_at.
    for member in (B, C, "tenant-x"):
        assert a.post(f"/v2/images/{img}/members", json={"member": member}).status_code == 200
    with cloud.state.transaction() as db:
        db.execute(
            "UPDATE members SET created_at = '2026-01-01T00:00:00Z' WHERE member_id = ?", (B,)
        )
    assert a.delete(f"/v2/images/{img}/members/{B}").status_code == 204
    assert cloud.state.member_count(img) == 2
    again = a.post(f"/v2/images/{img}/members", json={"member": B})
    assert again.status_code == 200
    assert (again.json()["status"], again.json()["created_at"]) == (
        "pending",
        "2026-01-01T00:00:00Z",
    )
    listed = a.get(f"/v2/images/{img}/members").json()["members"]
    assert [m["member_id"] for m in listed] == [B, C, "tenant-x"]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """The cloud's clock, stopped at its first value; append a time to move it on."""
    moments = [datetime(2026, 11, 26, 22, 55, 49, tzinfo=UTC)]
    monkeypatch.setattr("builtin_cloud.state.utcnow", lambda: moments[-1])
    return moments


def test_a_new_member_has_equal_created_at_and_updated_at(clock, a, img):
    member = a.post(f"/v2/images/{img}/members", json={"member": B}).json()
    assert member["created_at"] == member["updated_at"] == "2026-11-26T22:55:49Z"


def test_a_status_update_moves_updated_at_only(clock, a, b, img):
    a.post(f"/v2/images/{img}/members", json={"member": B})
    clock.append(clock[0] + timedelta(minutes=5))
    updated = b.put(f"/v2/images/{img}/members/{B}", json={"status": "accepted"}).json()
    assert (updated["created_at"], updated["updated_at"]) == (
        "2026-11-26T22:55:49Z",
        "2026-11-26T23:00:49Z",
    )
    shown = a.get(f"/v2/images/{img}/members/{B}").json()
    assert (shown["created_at"], shown["updated_at"]) == (
        "2026-11-26T22:55:49Z",
        "2026-11-26T23:00:49Z",
    )


def test_a_member_added_again_keeps_created_at_and_gets_a_new_updated_at(clock, a, img):
    a.post(f"/v2/images/{img}/members", json={"member": B})
    clock.append(clock[0] + timedelta(hours=1))
    a.delete(f"/v2/images/{img}/members/{B}")
    clock.append(clock[0] + timedelta(hours=2))
    again = a.post(f"/v2/images/{img}/members", json={"member": B}).json()
    assert (again["created_at"], again["updated_at"]) == (
        "2026-11-26T22:55:49Z",
        "2026-11-27T00:55:49Z",
    )


def test_a_cloud_file_from_before_deleted_members_is_upgraded(tmp_path):
    path = tmp_path / "cloud.sqlite3"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE members (image_id TEXT NOT NULL, member_id TEXT NOT NULL, "
        "status TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, "
        "PRIMARY KEY (image_id, member_id))"
    )
    old.execute("INSERT INTO members VALUES ('img', 'tenant-b', 'accepted', 't', 't')")
    old.commit()
    old.close()
    state = CloudState(str(path))
    assert state.member_status("img", "tenant-b") == "accepted"
    assert CloudState(str(path)).member_count("img") == 1  # a second opener changes nothing


def test_a_numeric_member_is_echoed_as_a_number_and_read_back_as_a_string(a, img):
    created = a.post(f"/v2/images/{img}/members", json={"member": 12345})  # row 66
    assert created.status_code == 200
    assert created.json()["member_id"] == 12345  # row 67
    fetched = a.get(f"/v2/images/{img}/members/12345")  # row 68
    assert fetched.json()["member_id"] == "12345"  # row 69


def test_a_member_body_sent_as_text_plain_is_accepted(a, img):
    response = a.post(
        f"/v2/images/{img}/members",
        data=f'{{"member": "{C}"}}',
        headers={"Content-Type": "text/plain"},
    )  # row 70
    assert response.status_code == 200


def test_the_owner_lists_members_in_the_order_added_and_a_member_sees_only_itself(a, b, img):
    for member in (12345, C, B):  # rows 66, 70, 71
        assert a.post(f"/v2/images/{img}/members", json={"member": member}).status_code == 200
    owner_view = a.get(f"/v2/images/{img}/members").json()["members"]  # rows 72-73
    assert [m["member_id"] for m in owner_view] == ["12345", C, B]
    member_view = b.get(f"/v2/images/{img}/members").json()["members"]  # rows 74-75
    assert [m["member_id"] for m in member_view] == [B]


def test_a_member_with_only_the_reader_role_cannot_change_its_status(cloud, shared):
    reader = cloud.client("b-reader")
    response = reader.put(f"/v2/images/{shared}/members/{B}", json={"status": "rejected"})
    assert response.status_code == 403  # row 77
    assert message(response) == "You are not authorized to complete modify_member action."


def test_a_token_without_roles_gets_a_bare_404_reading_its_membership(cloud, shared):
    no_roles = cloud.client("b-noroles")
    response = no_roles.get(f"/v2/images/{shared}/members/{B}")  # row 78
    assert response.status_code == 404
    assert message(response) == "The resource could not be found."


def test_an_admin_bypasses_ownership_but_not_the_member_limit(cloud, a, img):
    cloud.state.member_limit = 3
    for member in (12345, C, B):
        a.post(f"/v2/images/{img}/members", json={"member": member})
    admin = cloud.client("admin")
    over = admin.post(f"/v2/images/{img}/members", json={"member": "tenant-x"})  # row 79
    assert over.status_code == 413
    assert message(over).startswith(
        f"Image member limit exceeded for image {img}: The limit has been exceeded on the "
        "number of allowed image members for this image. Attempted: 4, Maximum: 3"
    )
    assert admin.delete(f"/v2/images/{img}/members/{C}").status_code == 204  # row 80
    added = admin.post(f"/v2/images/{img}/members", json={"member": "tenant-y"})  # row 81
    assert added.status_code == 200
    assert added.json()["member_id"] == "tenant-y"


def test_the_fourth_member_over_a_limit_of_three_gets_413(cloud, a, img):
    cloud.state.member_limit = 3
    for n in range(3):  # rows 85-87
        response = a.post(f"/v2/images/{img}/members", json={"member": f"tenant-q{n}"})
        assert response.status_code == 200
    fourth = a.post(f"/v2/images/{img}/members", json={"member": "tenant-q3"})  # row 88
    assert fourth.status_code == 413
    assert "Image member limit exceeded" in message(fourth)
    assert cloud.state.member_status(img, "tenant-q3") is None


def test_a_private_image_refuses_members(a, c):
    pimg = a.post("/v2/images", json={"name": "probe-private", "visibility": "private"})
    assert pimg.status_code == 201  # row 89
    pimg_id = pimg.json()["id"]
    added = a.post(f"/v2/images/{pimg_id}/members", json={"member": B})  # row 90
    assert added.status_code == 403
    assert message(added) == f"Not allowed to create members for image {pimg_id}."
    listed = a.get(f"/v2/images/{pimg_id}/members")  # row 91
    assert listed.status_code == 403
    assert message(listed) == (
        f"Not allowed to list members for image {pimg_id}: Only shared images have members."
    )
    fetched = a.get(f"/v2/images/{pimg_id}/members/{B}")  # row 92
    assert fetched.status_code == 404
    assert message(fetched) == "Only shared images have members."
    stranger = c.get(f"/v2/images/{pimg_id}")  # row 93
    assert stranger.status_code == 404
    assert message(stranger) == f"No image found with ID {pimg_id}"


def test_an_image_created_without_visibility_is_shared_and_takes_members(a):
    created = a.post("/v2/images", json={"name": "probe-default"})  # row 94
    dimg = created.json()["id"]
    assert a.get(f"/v2/images/{dimg}").json()["visibility"] == "shared"  # rows 95-96
    assert a.post(f"/v2/images/{dimg}/members", json={"member": B}).status_code == 200  # 97


def test_only_an_admin_creates_public_images_and_they_take_no_members(cloud, a):
    refused = a.post("/v2/images", json={"name": "probe-public", "visibility": "public"})
    assert refused.status_code == 403  # row 98
    assert message(refused) == "You are not authorized to complete publicize_image action."
    admin = cloud.client("admin")
    public = admin.post("/v2/images", json={"name": "probe-public", "visibility": "public"})
    assert public.status_code == 201  # row 99
    pubimg = public.json()["id"]
    for client in (admin, a):  # rows 100-101
        response = client.post(f"/v2/images/{pubimg}/members", json={"member": C})
        assert response.status_code == 403
        assert message(response) == f"Not allowed to create members for image {pubimg}."


def test_a_community_image_takes_no_members(a):
    cimg = a.post("/v2/images", json={"name": "probe-community", "visibility": "community"})
    assert cimg.status_code == 201  # row 102
    response = a.post(f"/v2/images/{cimg.json()['id']}/members", json={"member": B})
    assert response.status_code == 403  # row 103


def test_making_a_shared_image_private_cuts_its_members_off(a, b, shared):
    response = a.patch(
        f"/v2/images/{shared}",
        json=[{"op": "replace", "path": "/visibility", "value": "private"}],
        headers={"Content-Type": "application/openstack-images-v2.1-json-patch"},
    )  # row 104
    assert response.status_code == 200
    assert response.json()["visibility"] == "private"
    member = b.get(f"/v2/images/{shared}/members/{B}")  # row 105
    assert member.status_code == 404
    assert message(member) == f"Image {shared} not found."


def test_get_or_delete_with_a_body_gets_400(a, shared):
    for method in ("GET", "DELETE"):
        response = a.request(method, f"/v2/images/{shared}/members/{B}", data=b"{}")
        assert response.status_code == 400
        assert message(response) == "A body is not expected with this request."


def test_an_unsupported_method_gets_405_with_allow(a, shared):
    on_list = a.put(f"/v2/images/{shared}/members", json={})
    assert on_list.status_code == 405
    assert on_list.headers["Allow"] == "GET, POST"
    on_member = a.post(f"/v2/images/{shared}/members/{B}", json={})
    assert on_member.status_code == 405
    assert on_member.headers["Allow"] == "GET, PUT, DELETE"


def test_an_admin_can_change_a_members_status(cloud, shared):
    admin = cloud.client("admin")
    response = admin.put(f"/v2/images/{shared}/members/{B}", json={"status": "accepted"})
    assert response.status_code == 200
    assert cloud.state.member_status(shared, B) == "accepted"


def test_before_v2_5_private_images_take_members_and_public_ones_refuse(cloud, a, b):
    cloud.state.api_version = "2.3"
    private = a.post("/v2/images", json={"name": "icehouse-private"})
    assert private.json()["visibility"] == "private"  # the pre-Ocata default
    pimg = private.json()["id"]
    assert a.post(f"/v2/images/{pimg}/members", json={"member": B}).status_code == 200
    assert b.get(f"/v2/images/{pimg}").status_code == 200
    public = cloud.image(ADMIN, name="icehouse-public", visibility="public")
    refused = a.post(f"/v2/images/{public}/members", json={"member": B})
    assert refused.status_code == 403
    assert message(refused) == "Public images do not have members."


def test_the_member_schemas_are_served_as_by_glance_33(cloud, a):
    """Rows 82-83: the documents real Glance 33 serves (conformance run)."""
    member = a.get("/v2/schemas/member")
    assert member.status_code == 200
    properties = member.json()["properties"]
    assert member.json()["name"] == "member"
    assert sorted(properties) == [
        "created_at",
        "image_id",
        "member_id",
        "schema",
        "status",
        "updated_at",
    ]
    assert properties["status"]["enum"] == ["pending", "accepted", "rejected"]
    members = a.get("/v2/schemas/members")
    assert members.status_code == 200
    assert members.json()["properties"]["members"]["items"]["properties"] == properties
    assert members.json()["links"] == [{"rel": "describedby", "href": "{schema}"}]
    # Like every /v2 path, the schemas need a token.
    assert cloud.session.get(a.root + "/v2/schemas/member").status_code == 401
