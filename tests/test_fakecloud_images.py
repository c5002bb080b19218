"""The built-in cloud's images API: list, paging, filters, get, create, patch, delete, data
(docs/glance.md §3)."""

import hashlib
from datetime import UTC, datetime, timedelta
from urllib.parse import urljoin

import pytest
import requests

from builtin_cloud import running_server

from .glance_cast import ADMIN, A, B, C, FakeCloud, GlanceClient

PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def cloud() -> FakeCloud:
    cloud = FakeCloud()
    # As every Glance client does: without it, Glance's errors are HTML or plain text.
    cloud.session.headers["Accept"] = "application/json"
    return cloud


@pytest.fixture
def a(cloud: FakeCloud) -> GlanceClient:
    return cloud.client("a")


def seed_images(cloud: FakeCloud, count: int, owner: str = A) -> list[str]:
    """`count` images of `owner`, one minute apart; returns their ids, newest first."""
    ids = [
        cloud.image(owner, name=f"img-{n:04}", created_at=T0 + timedelta(minutes=n))
        for n in range(count)
    ]
    return ids[::-1]


def message(response) -> str:
    return response.json()["message"].removesuffix("<br /><br />\n\n\n")


def test_paging_follows_next_until_an_empty_page_when_the_total_fills_the_last_page(cloud, a):
    expected = seed_images(cloud, 6)
    pages, url = [], a.root + "/v2/images?limit=3"
    while url:
        body = a.session.get(url, headers={"X-Auth-Token": a.token}).json()
        pages.append([image["id"] for image in body["images"]])
        # `next` is root-relative (/v2/...): join it to the endpoint root, not the /v2 URL.
        url = urljoin(a.root + "/", body["next"].lstrip("/")) if "next" in body else None
    assert pages == [expected[:3], expected[3:], []]


def test_a_short_last_page_has_no_next(cloud, a):
    seed_images(cloud, 5)
    first = a.get("/v2/images?limit=3").json()
    assert first["next"].startswith("/v2/images?limit=3&marker=")
    second = a.get(first["next"]).json()  # root-relative: the client's root plus the link
    assert len(second["images"]) == 2
    assert "next" not in second


def test_links_keep_the_filters_and_first_drops_the_marker(cloud, a):
    ids = seed_images(cloud, 3)
    body = a.get(f"/v2/images?visibility=shared&limit=1&marker={ids[0]}").json()
    assert body["first"] == "/v2/images?visibility=shared&limit=1"
    assert body["next"] == f"/v2/images?visibility=shared&limit=1&marker={ids[1]}"
    assert body["schema"] == "/v2/schemas/images"


def test_the_default_page_size_is_25(cloud, a):
    seed_images(cloud, 30)
    body = a.get("/v2/images").json()
    assert len(body["images"]) == 25
    assert "next" in body


def test_a_limit_above_1000_is_cut_to_1000_without_an_error(cloud, a):
    seed_images(cloud, 1001)
    body = a.get("/v2/images?limit=5000").json()
    assert len(body["images"]) == 1000
    assert body["next"].startswith("/v2/images?limit=5000&marker=")


@pytest.mark.parametrize(
    ("limit", "text"),
    [("ten", "limit param must be an integer"), ("-1", "limit param must be positive")],
)
def test_a_bad_limit_gets_400(a, limit, text):
    response = a.get(f"/v2/images?limit={limit}")
    assert response.status_code == 400
    assert message(response) == text


def test_an_unknown_marker_gets_400(a):
    unknown = "00000000-0000-4000-8000-000000000000"
    response = a.get(f"/v2/images?marker={unknown}")
    assert response.status_code == 400
    assert message(response) == f"No image found with ID {unknown}"


def test_a_marker_the_caller_cannot_see_gets_403(cloud, a):
    # Real Glance 33 (conformance run): 403 for an existing image the caller may not see,
    # while an unknown one is 400.
    hidden = cloud.image(C, name="c-private", visibility="private")
    response = a.get(f"/v2/images?marker={hidden}")
    assert response.status_code == 403
    assert message(response) == f"Forbidding request, image {hidden} not visible"


@pytest.mark.parametrize(
    "query", ["visibility=everyone", "member_status=maybe", "sort_key=colour", "sort_dir=up"]
)
def test_invalid_list_parameters_get_400(a, query):
    assert a.get(f"/v2/images?{query}").status_code == 400


def test_old_and_new_sort_syntax_cannot_be_combined(a):
    response = a.get("/v2/images?sort=name:asc&sort_key=size")
    assert response.status_code == 400
    assert message(response) == "Old and new sorting syntax cannot be combined"


def test_the_default_order_is_newest_first_and_sort_reorders(cloud, a):
    cloud.image(A, name="b-old", created_at=T0)
    cloud.image(A, name="a-new", created_at=T0 + timedelta(days=1))
    cloud.image(A, name="c-mid", created_at=T0 + timedelta(hours=1))
    assert a.image_names() == ["a-new", "c-mid", "b-old"]
    assert a.image_names("&sort=name:asc") == ["a-new", "b-old", "c-mid"]
    assert a.image_names("&sort_key=name&sort_dir=desc") == ["c-mid", "b-old", "a-new"]


def test_the_default_list_has_public_own_and_accepted_shares_only(cloud):
    cloud.image(ADMIN, name="public", visibility="public")
    cloud.image(A, name="a-private", visibility="private")
    cloud.image(A, name="a-community", visibility="community")
    accepted = cloud.image(C, name="c-accepted")
    pending = cloud.image(C, name="c-pending")
    cloud.image(C, name="c-community", visibility="community")
    cloud.image(C, name="c-private", visibility="private")
    cloud.state.add_member(accepted, A, "accepted")
    cloud.state.add_member(pending, A, "pending")
    a = cloud.client("a")
    assert sorted(a.image_names()) == ["a-community", "a-private", "c-accepted", "public"]
    # Others' community images appear only when asked for.
    assert sorted(a.image_names("&visibility=community")) == ["a-community", "c-community"]


def test_visibility_shared_also_lists_the_callers_own_shared_images(cloud):
    cloud.image(A, name="a-shared")
    offer = cloud.image(C, name="c-offer")
    cloud.state.add_member(offer, A, "pending")
    a = cloud.client("a")
    assert a.image_names("&visibility=shared") == ["a-shared"]
    assert sorted(a.image_names("&visibility=shared&member_status=pending")) == [
        "a-shared",
        "c-offer",
    ]


def test_an_admin_sees_every_image_whatever_the_member_status(cloud):
    cloud.image(B, name="b-private", visibility="private")
    cloud.image(C, name="c-shared")
    admin = cloud.client("admin")
    assert sorted(admin.image_names()) == ["b-private", "c-shared"]


def test_images_are_listed_per_region(cloud, a):
    cloud.image(A, name="in-iad", region="IAD")
    cloud.image(A, name="in-dfw", region="DFW")
    assert a.image_names() == ["in-iad"]
    assert cloud.client("a", region="DFW").image_names() == ["in-dfw"]


def test_an_image_of_another_region_is_not_found(cloud, a):
    dfw = cloud.image(A, name="in-dfw", region="DFW")
    assert a.get(f"/v2/images/{dfw}").status_code == 404


def test_list_filters_match_exactly(cloud, a):
    cloud.image(A, name="web", status="active", os_distro="ubuntu")
    cloud.image(A, name="db", status="queued")
    cloud.image(B, name="web", visibility="public")
    assert a.image_names("&name=web&owner=tenant-a") == ["web"]
    assert a.image_names("&status=queued") == ["db"]
    assert a.image_names("&os_distro=ubuntu") == ["web"]


def test_a_reader_lists_and_a_token_without_roles_cannot(cloud):
    cloud.image(A, name="a-image")
    assert cloud.client("a-reader").image_names() == ["a-image"]
    refused = cloud.client("b-noroles").get("/v2/images")
    assert refused.status_code == 403
    assert message(refused) == "You are not authorized to complete get_images action."


def test_getting_an_image_returns_glances_fields(cloud, a):
    image_id = cloud.image(A, name="web", min_disk=20, os_distro="ubuntu")
    response = a.get(f"/v2/images/{image_id}")
    assert response.status_code == 200
    image = response.json()
    assert image["id"] == image_id
    assert image["owner"] == A
    assert image["os_distro"] == "ubuntu"
    assert image["self"] == f"/v2/images/{image_id}"
    assert image["created_at"].endswith("Z")


def test_creating_an_image_gives_201_a_queued_shared_image_and_a_location(a):
    response = a.post("/v2/images", json={"name": "new", "disk_format": "raw", "tags": ["x"]})
    assert response.status_code == 201
    image = response.json()
    assert (image["status"], image["visibility"], image["owner"]) == ("queued", "shared", A)
    assert image["tags"] == ["x"]
    assert response.headers["Location"] == f"{a.root}/v2/images/{image['id']}"


def test_creating_an_image_with_a_read_only_attribute_gets_403(a):
    response = a.post("/v2/images", json={"name": "x", "status": "active"})
    assert response.status_code == 403
    assert message(response) == "Attribute 'status' is read-only."


def test_creating_an_image_from_a_body_that_is_not_an_object_fails_as_in_glance_33(a):
    # Glance 33 answers a JSON list with a 500 (conformance run); the built-in cloud too.
    response = a.post("/v2/images", json=[{"name": "x"}])
    assert response.status_code == 500
    assert message(response) == (
        "The server has either erred or is incapable of performing the requested operation."
    )


def test_creating_an_image_for_another_owner_gets_webobs_403_text(a):
    response = a.post("/v2/images", json={"name": "x", "owner": C})
    assert response.status_code == 403
    assert response.json()["message"] == (
        "Access was denied to this resource.<br /><br />\n"
        f"You are not permitted to create images owned by '{C}'\n\n"
    )


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_a_bogus_visibility_gets_jsonschemas_whole_report(cloud, a, method):
    if method == "POST":
        response = a.post("/v2/images", json={"name": "x", "visibility": "bogus"})
    else:
        ops = [{"op": "replace", "path": "/visibility", "value": "bogus"}]
        response = a.patch(f"/v2/images/{cloud.image(A)}", json=ops, headers=PATCH)
    assert response.status_code == 400
    assert message(response) == (
        "Provided object does not match schema 'image': 'bogus' is not one of "
        "['community', 'public', 'private', 'shared']\n\n"
        "Failed validating 'enum' in schema['properties']['visibility']:\n"
        "    {'type': 'string',\n"
        "     'description': 'Scope of image accessibility',\n"
        "     'enum': ['community', 'public', 'private', 'shared']}\n\n"
        "On instance['visibility']:\n"
        "    'bogus'"
    )


def test_patch_needs_the_json_patch_media_type(cloud, a):
    image_id = cloud.image(A, name="web")
    response = a.patch(f"/v2/images/{image_id}", json=[])
    assert response.status_code == 415
    assert response.headers["Accept-Patch"] == (
        "application/openstack-images-v2.0-json-patch, application/openstack-images-v2.1-json-patch"
    )


def test_the_owner_makes_a_private_snapshot_shared(cloud, a):
    snapshot = cloud.image(A, name="snap", visibility="private")
    response = a.patch(
        f"/v2/images/{snapshot}",
        json=[
            {"op": "replace", "path": "/visibility", "value": "shared"},
            {"op": "add", "path": "/note", "value": "for partners"},
        ],
        headers=PATCH,
    )
    assert response.status_code == 200
    assert response.json()["visibility"] == "shared"
    assert response.json()["note"] == "for partners"
    assert a.post(f"/v2/images/{snapshot}/members", json={"member": B}).status_code == 200


def test_only_the_owner_patches_and_only_an_admin_makes_public(cloud, a):
    image_id = cloud.image(A, name="web")
    cloud.state.add_member(image_id, B, "accepted")
    to_public = [{"op": "replace", "path": "/visibility", "value": "public"}]
    member = cloud.client("b").patch(f"/v2/images/{image_id}", json=to_public, headers=PATCH)
    assert member.status_code == 403
    assert message(member) == "You are not authorized to complete modify_image action."
    owner = a.patch(f"/v2/images/{image_id}", json=to_public, headers=PATCH)
    assert owner.status_code == 403
    assert message(owner) == "You are not authorized to complete publicize_image action."
    stranger = cloud.client("c").patch(f"/v2/images/{image_id}", json=to_public, headers=PATCH)
    assert stranger.status_code == 404
    admin = cloud.client("admin").patch(f"/v2/images/{image_id}", json=to_public, headers=PATCH)
    assert admin.json()["visibility"] == "public"


def test_patching_a_read_only_attribute_gets_403(cloud, a):
    image_id = cloud.image(A, name="web")
    ops = [{"op": "replace", "path": "/owner", "value": B}]
    assert a.patch(f"/v2/images/{image_id}", json=ops, headers=PATCH).status_code == 403


def test_versions_are_200_at_versions_and_300_at_the_root(cloud):
    root = f"{cloud.app.base_url}/iad/images"
    versions = cloud.session.get(f"{root}/versions")
    assert versions.status_code == 200
    first = versions.json()["versions"][0]
    assert (first["id"], first["status"]) == ("v2.17", "CURRENT")  # as Glance 33 (conformance)
    assert first["links"][0]["href"] == f"{root}/v2/"
    assert cloud.session.get(f"{root}/").status_code == 300


def test_the_versions_document_follows_the_api_version(cloud):
    cloud.state.api_version = "2.3"
    body = cloud.session.get(f"{cloud.app.base_url}/dfw/images/versions").json()
    assert [v["id"] for v in body["versions"]] == ["v2.3", "v2.2", "v2.1", "v2.0"]


def test_before_v2_5_the_list_refuses_community_and_shared_means_shared_with_me(cloud, a):
    cloud.state.api_version = "2.3"
    cloud.image(A, name="a-own", visibility="private")
    offer = cloud.image(C, name="c-offer", visibility="private")
    cloud.state.add_member(offer, A, "accepted")
    assert a.get("/v2/images?visibility=community").status_code == 400
    assert a.image_names("&visibility=shared") == ["c-offer"]


def test_unknown_paths_and_regions_get_404(cloud, a):
    assert a.get("/v2/schemas/nothing").status_code == 404
    assert cloud.session.get(f"{cloud.app.base_url}/lon/images/versions").status_code == 404
    # A client that keeps Rackspace's /v2 and appends /v2/images doubles it: 404.
    assert a.get("/v2/v2/images").status_code == 404


# Image delete, data upload and download, and the image schemas (Glance 33 in the conformance run)

OCTETS = {"Content-Type": "application/octet-stream"}


def queued_image(a: GlanceClient, **fields) -> str:
    body = {"name": "probe", "disk_format": "raw", "container_format": "bare", **fields}
    response = a.post("/v2/images", json=body)
    assert response.status_code == 201
    assert response.json()["status"] == "queued"
    return response.json()["id"]


def test_an_upload_makes_the_image_active_with_glances_size_and_hashes(a):
    image_id = queued_image(a)
    data = b"hello real glance"
    response = a.put(f"/v2/images/{image_id}/file", data=data, headers=OCTETS)
    assert response.status_code == 204
    assert response.content == b""
    image = a.get(f"/v2/images/{image_id}").json()
    assert (image["status"], image["size"], image["virtual_size"]) == ("active", 17, 17)
    assert image["checksum"] == "2bbe5c95ec108e3b411adb3ac0f92303"  # md5, as Glance 33 gave
    assert image["os_hash_algo"] == "sha512"
    assert image["os_hash_value"] == (
        "adf8c60057a76c956a5a17b27f3b4467fe1e610843f3bbe2a9d5ead8bf85da5d"
        "5c4feb54fa4836f08f68d63f0460107587680b783725dd7bd61041b59bde79a1"
    )
    assert image["stores"] == "fs"


def test_the_data_downloads_with_its_md5_and_a_queued_image_gives_204(cloud, a):
    image_id = queued_image(a)
    assert a.get(f"/v2/images/{image_id}/file").status_code == 204
    a.put(f"/v2/images/{image_id}/file", data=b"bytes", headers=OCTETS)
    a.post(f"/v2/images/{image_id}/members", json={"member": B})
    downloaded = cloud.client("b").get(f"/v2/images/{image_id}/file")  # a pending member
    assert downloaded.status_code == 200
    assert downloaded.content == b"bytes"
    assert downloaded.headers["Content-Type"] == "application/octet-stream"
    assert downloaded.headers["Content-MD5"] == "4b3a6218bb3e3a7303e8a171a60fcf92"
    assert cloud.client("c").get(f"/v2/images/{image_id}/file").status_code == 404


def test_an_image_takes_its_data_only_once(a):
    image_id = queued_image(a)
    assert a.put(f"/v2/images/{image_id}/file", data=b"one", headers=OCTETS).status_code == 204
    again = a.put(f"/v2/images/{image_id}/file", data=b"two", headers=OCTETS)
    assert again.status_code == 409
    assert message(again) == "Image status transition from active to saving is not allowed"


def test_an_upload_needs_octet_stream(a):
    image_id = queued_image(a)
    response = a.put(f"/v2/images/{image_id}/file", data=b"x", headers={"Content-Type": "a/b"})
    assert response.status_code == 415
    assert response.json()["message"] == (
        "The request media type a/b is not supported by this server.\n<br /><br />\n"
        "Invalid content type a/b"
    )


def test_only_the_owner_uploads(cloud, a):
    image_id = queued_image(a)
    a.post(f"/v2/images/{image_id}/members", json={"member": B})
    by_member = cloud.client("b").put(f"/v2/images/{image_id}/file", data=b"x", headers=OCTETS)
    assert (by_member.status_code, message(by_member)) == (
        403,
        "You are not authorized to complete upload_image action.",
    )
    stranger = cloud.client("c").put(f"/v2/images/{image_id}/file", data=b"x", headers=OCTETS)
    assert stranger.status_code == 404
    reader = cloud.client("a-reader").put(f"/v2/images/{image_id}/file", data=b"x", headers=OCTETS)
    assert reader.status_code == 403


def test_a_chunked_upload_over_a_socket_keeps_every_byte(cloud):
    data = b"0123456789" * 10_000

    def chunks():
        for start in range(0, len(data), 4096):
            yield data[start : start + 4096]

    with running_server(cloud.app), requests.Session() as session:
        a = cloud.client("a", session=session)
        image_id = queued_image(a)
        response = a.put(f"/v2/images/{image_id}/file", data=chunks(), headers=OCTETS)
        assert response.status_code == 204
        assert a.get(f"/v2/images/{image_id}").json()["size"] == len(data)
        assert a.get(f"/v2/images/{image_id}/file").content == data


def test_the_owner_deletes_an_image_and_its_members_go_with_it(cloud, a):
    image_id = queued_image(a)
    a.post(f"/v2/images/{image_id}/members", json={"member": B})
    response = a.delete(f"/v2/images/{image_id}")
    assert (response.status_code, response.content) == (204, b"")
    assert a.get(f"/v2/images/{image_id}").status_code == 404
    assert cloud.state.memberships(B) == {}
    again = a.delete(f"/v2/images/{image_id}")
    assert (again.status_code, message(again)) == (
        404,
        f"Failed to find image {image_id} to delete",
    )


def test_a_member_may_not_delete_and_a_stranger_does_not_see_the_image(cloud, a):
    image_id = queued_image(a)
    a.post(f"/v2/images/{image_id}/members", json={"member": B})
    by_member = cloud.client("b").delete(f"/v2/images/{image_id}")
    assert (by_member.status_code, message(by_member)) == (
        403,
        "You are not authorized to complete delete_image action.",
    )
    assert cloud.client("c").delete(f"/v2/images/{image_id}").status_code == 404
    assert cloud.client("a-reader").delete(f"/v2/images/{image_id}").status_code == 403
    assert cloud.client("admin").delete(f"/v2/images/{image_id}").status_code == 204


def test_a_protected_image_is_not_deleted(a):
    image_id = queued_image(a, protected=True)
    response = a.delete(f"/v2/images/{image_id}")
    assert (response.status_code, message(response)) == (
        403,
        f"Image {image_id} is protected and cannot be deleted.",
    )


@pytest.mark.parametrize("name", ["image", "images"])
def test_the_image_schemas_are_glances(a, name):
    schema = a.get(f"/v2/schemas/{name}").json()
    assert schema["name"] == name
    if name == "image":
        assert schema["properties"]["visibility"]["enum"] == [
            "community",
            "public",
            "private",
            "shared",
        ]
        assert schema["additionalProperties"] == {"type": "string"}
    else:
        assert schema["properties"]["images"]["items"]["name"] == "image"


def test_data_that_does_not_match_the_disk_format_is_refused_but_kept(a):
    # Glance 33 stores the data, then inspects it: 415, and the image stays queued with the
    # data's hashes; its data downloads, and another upload fails (conformance run).
    image_id = queued_image(a, disk_format="qcow2")
    response = a.put(f"/v2/images/{image_id}/file", data=b"plain bytes", headers=OCTETS)
    assert response.status_code == 415
    assert response.json()["message"].endswith(
        "Image disk_format qcow2 does not match stream data raw"
    )
    image = a.get(f"/v2/images/{image_id}").json()
    assert (image["status"], image["size"]) == ("queued", None)
    assert image["checksum"] == hashlib.md5(b"plain bytes").hexdigest()
    assert a.get(f"/v2/images/{image_id}/file").content == b"plain bytes"
    again = a.put(f"/v2/images/{image_id}/file", data=b"plain bytes", headers=OCTETS)
    assert again.status_code == 500


def test_data_in_the_disk_format_is_taken(a):
    image_id = queued_image(a, disk_format="qcow2")
    qcow2 = b"QFI\xfb\x00\x00\x00\x03" + bytes(100)
    assert a.put(f"/v2/images/{image_id}/file", data=qcow2, headers=OCTETS).status_code == 204
    assert a.get(f"/v2/images/{image_id}").json()["status"] == "active"


def test_an_image_without_formats_takes_no_data(a):
    image_id = a.post("/v2/images", json={"name": "no formats"}).json()["id"]
    response = a.put(f"/v2/images/{image_id}/file", data=b"x", headers=OCTETS)
    assert (response.status_code, message(response)) == (
        400,
        "Properties disk_format, container_format must be set prior to saving data.",
    )
