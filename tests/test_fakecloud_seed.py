"""The demo data of the built-in cloud, seen over HTTP by its demo accounts."""

import pytest
import requests

from builtin_cloud import CloudState, FakeCloudApp, make_session, seed_demo_cloud
from builtin_cloud.seed import ACME, GLOBEX, INITECH, seed_image_id

BASE = "http://demo-cloud.test"


@pytest.fixture
def state() -> CloudState:
    state = CloudState()
    seed_demo_cloud(state)
    return state


@pytest.fixture
def session(state: CloudState) -> requests.Session:
    session = make_session(FakeCloudApp(state, BASE))
    session.headers["Accept"] = "application/json"  # Glance's errors as JSON
    return session


def login(session: requests.Session, username: str) -> str:
    credentials = {"username": username, "apiKey": "demo-api-key"}
    response = session.post(
        f"{BASE}/identity/v2.0/tokens", json={"auth": {"RAX-KSKEY:apiKeyCredentials": credentials}}
    )
    assert response.status_code == 200
    return response.json()["access"]["token"]["id"]


def get(session: requests.Session, token: str, path: str, region: str = "iad") -> dict:
    response = session.get(f"{BASE}/{region}/images{path}", headers={"X-Auth-Token": token})
    assert response.status_code == 200
    return response.json()


def everything_visible(session: requests.Session) -> dict:
    """Every image (with its members) every demo user can list, in both seeded regions."""
    seen = {}
    for username in ("acme-admin", "globex-admin", "initech-admin", "provider-admin"):
        token = login(session, username)
        for region in ("iad", "dfw"):
            images = get(session, token, "/v2/images?member_status=all&limit=1000", region)
            for image in images["images"]:
                members = session.get(
                    f"{BASE}/{region}/images/v2/images/{image['id']}/members",
                    headers={"X-Auth-Token": token},
                )
                seen[username, region, image["id"]] = (image, members.json())
    return seen


def test_seeding_twice_changes_nothing(state, session):
    before = everything_visible(session)
    seed_demo_cloud(state)
    assert everything_visible(session) == before
    assert len(before) > 20


def test_acme_lists_its_images_the_public_ones_and_the_accepted_initech_share(session):
    names = [i["name"] for i in get(session, login(session, "acme-admin"), "/v2/images")["images"]]
    assert "Initech TPS report server" in names
    assert "Ubuntu 24.04 LTS (PVHVM)" in names
    assert "Globex analytics appliance" not in names  # pending offers stay out of the list
    assert "<script>alert(1)</script>" in names
    assert "本番ウェブサーバー" in names
    assert len(names) >= 14


def test_acme_finds_the_pending_globex_offer(session):
    token = login(session, "acme-admin")
    offers = get(session, token, "/v2/images?visibility=shared&member_status=pending")
    foreign = [i["name"] for i in offers["images"] if i["owner"] != ACME]
    assert foreign == ["Globex analytics appliance"]


def test_acme_has_a_queued_image_and_a_private_snapshot(session):
    images = get(session, login(session, "acme-admin"), "/v2/images?limit=100")["images"]
    by_name = {i["name"]: i for i in images}
    assert by_name["Nightly build (uploading)"]["status"] == "queued"
    assert by_name["web-01 snapshot 2026-11-20"]["visibility"] == "private"


def test_acmes_images_page_with_the_default_limit(session):
    token = login(session, "acme-admin")
    first = get(session, token, "/v2/images?limit=8")
    assert len(first["images"]) == 8
    assert "next" in first


def test_the_partner_golden_image_is_at_the_member_limit(state, session):
    token = login(session, "acme-admin")
    image_id = seed_image_id("IAD", ACME, "Partner golden image (member limit reached)")
    members = get(session, token, f"/v2/images/{image_id}/members")["members"]
    assert len(members) == state.member_limit
    response = session.post(
        f"{BASE}/iad/images/v2/images/{image_id}/members",
        json={"member": "100099"},
        headers={"X-Auth-Token": token},
    )
    assert response.status_code == 413


def test_the_first_images_are_unshared_for_a_first_share_in_the_demo(state):
    for name in ("Ubuntu 24.04 web base", "Debian 12 app server"):
        assert state.members(seed_image_id("IAD", ACME, name)) == []


def test_existing_shares_have_every_status(state):
    shared = seed_image_id("IAD", ACME, "Windows Server 2022 build agent")
    assert state.member_status(shared, GLOBEX) == "accepted"
    assert state.member_status(shared, INITECH) == "pending"
    rejected = seed_image_id("IAD", ACME, "Rocky Linux 9 database")
    assert state.member_status(rejected, INITECH) == "rejected"


def test_dfw_has_its_own_images(session):
    names = [
        i["name"] for i in get(session, login(session, "acme-admin"), "/v2/images", "dfw")["images"]
    ]
    assert sorted(names) == [
        "Debian 12 app server",
        "Globex DFW build runner",
        "Ubuntu 24.04 web base",
    ]


def test_the_demo_keystone_credentials_work(session):
    app_credential = {"id": "acme-appcred", "secret": "demo-appcred-secret"}
    password = {
        "user": {
            "name": "acme-admin",
            "domain": {"id": "default"},
            "password": "demo-cloud-password",
        }
    }
    for identity in (
        {"methods": ["application_credential"], "application_credential": app_credential},
        {"methods": ["password"], "password": password},
    ):
        response = session.post(
            f"{BASE}/identity/v3/auth/tokens", json={"auth": {"identity": identity}}
        )
        assert response.status_code == 201
        assert response.json()["token"]["project"]["id"] == ACME


def test_a_cloud_in_a_file_is_shared_by_two_states(tmp_path):
    path = str(tmp_path / "cloud.sqlite3")
    writer, reader = CloudState(path), CloudState(path)
    seed_demo_cloud(writer)
    writer.member_limit = 5
    token = login(make_session(FakeCloudApp(writer, BASE)), "acme-admin")
    other_process = make_session(FakeCloudApp(reader, BASE))
    response = other_process.get(f"{BASE}/iad/images/v2/images", headers={"X-Auth-Token": token})
    assert response.status_code == 200
    assert reader.member_limit == 5
