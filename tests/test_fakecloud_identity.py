"""The built-in cloud's identity: Rackspace v2.0 and Keystone v3 (docs/glance.md §4, §5)."""

from datetime import UTC, datetime

import pytest

from builtin_cloud import CloudState, FakeCloudApp, make_session

BASE = "http://identity.test"
RACKSPACE = f"{BASE}/identity/v2.0/tokens"
KEYSTONE = f"{BASE}/identity/v3/auth/tokens"


@pytest.fixture
def state() -> CloudState:
    state = CloudState()
    state.add_account("100001", "Acme")
    state.add_account("100002", "Globex")
    state.add_user("acme-admin", "100001", password="pw", api_key="key")
    state.add_app_credential("acme-appcred", "cred-secret", "acme-admin")
    return state


@pytest.fixture
def session(state: CloudState):
    return make_session(FakeCloudApp(state, BASE, regions=("IAD", "DFW")))


def api_key_login(username: str = "acme-admin", api_key: str = "key") -> dict:
    credentials = {"username": username, "apiKey": api_key}
    return {"auth": {"RAX-KSKEY:apiKeyCredentials": credentials}}


def keystone_password(project: dict, password: str = "pw") -> dict:
    user = {"name": "acme-admin", "domain": {"id": "default"}, "password": password}
    return {
        "auth": {
            "identity": {"methods": ["password"], "password": {"user": user}},
            "scope": {"project": project},
        }
    }


def keystone_app_credential(secret: str = "cred-secret") -> dict:
    credential = {"id": "acme-appcred", "secret": secret}
    return {
        "auth": {
            "identity": {
                "methods": ["application_credential"],
                "application_credential": credential,
            }
        }
    }


def test_an_api_key_login_returns_a_token_and_an_image_endpoint_per_region(session):
    response = session.post(RACKSPACE, json=api_key_login())
    assert response.status_code == 200
    access = response.json()["access"]
    assert access["token"]["tenant"] == {"id": "100001", "name": "100001"}
    assert access["token"]["expires"].endswith("Z")
    images = next(s for s in access["serviceCatalog"] if s["type"] == "image")
    assert images["name"] == "cloudImages"
    assert images["endpoints"] == [
        {"publicURL": f"{BASE}/iad/images/v2", "region": "IAD", "tenantId": "100001"},
        {"publicURL": f"{BASE}/dfw/images/v2", "region": "DFW", "tenantId": "100001"},
    ]
    assert access["user"]["name"] == "acme-admin"


def test_the_rackspace_catalog_lists_another_service_first_so_clients_pick_by_type(session):
    catalog = session.post(RACKSPACE, json=api_key_login()).json()["access"]["serviceCatalog"]
    assert catalog[0]["type"] == "compute"
    assert catalog[0]["endpoints"][0]["publicURL"] == f"{BASE}/iad/servers/v2/100001"


def test_a_password_login_works_on_rackspace_identity(session):
    body = {"auth": {"passwordCredentials": {"username": "acme-admin", "password": "pw"}}}
    response = session.post(RACKSPACE, json=body)
    assert response.status_code == 200
    assert response.json()["access"]["token"]["RAX-AUTH:authenticatedBy"] == ["PASSWORD"]


@pytest.mark.parametrize(
    "body",
    [
        api_key_login(api_key="wrong"),
        api_key_login(username="nobody"),
        {"auth": {"passwordCredentials": {"username": "acme-admin", "password": "key"}}},
    ],
)
def test_wrong_rackspace_credentials_get_401_with_the_identity_fault_body(session, body):
    response = session.post(RACKSPACE, json=body)
    assert response.status_code == 401
    assert response.json() == {
        "unauthorized": {
            "code": 401,
            "message": "Unable to authenticate user with credentials provided.",
        }
    }


@pytest.mark.parametrize(
    "data", ["not json", '{"auth": "x"}', '{"auth": {"somethingElse": {}}}', '{"nope": 1}']
)
def test_a_malformed_rackspace_body_gets_400_bad_request(session, data):
    response = session.post(RACKSPACE, data=data, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["badRequest"]["code"] == 400


def test_asking_for_tenant_id_and_tenant_name_together_gets_400(session):
    body = api_key_login()
    body["auth"] |= {"tenantId": "100001", "tenantName": "100001"}
    assert session.post(RACKSPACE, json=body).status_code == 400


def test_asking_for_another_tenant_gets_401(session):
    body = api_key_login()
    body["auth"]["tenantId"] = "100002"
    assert session.post(RACKSPACE, json=body).status_code == 401


@pytest.mark.parametrize(
    "project",
    [
        {"id": "100001"},
        {"name": "100001", "domain": {"id": "default"}},
        {"name": "Acme", "domain": {"name": "Default"}},
    ],
)
def test_a_keystone_password_login_puts_the_token_in_x_subject_token(session, project):
    response = session.post(KEYSTONE, json=keystone_password(project))
    assert response.status_code == 201
    token = response.headers["X-Subject-Token"]
    assert token
    assert "id" not in response.json()["token"]
    assert response.json()["token"]["project"]["id"] == "100001"
    assert response.json()["token"]["methods"] == ["password"]
    # The token works on Glance.
    listed = session.get(f"{BASE}/iad/images/v2/images", headers={"X-Auth-Token": token})
    assert listed.status_code == 200


def test_the_keystone_catalog_has_public_internal_and_admin_image_endpoints(session):
    token = session.post(KEYSTONE, json=keystone_password({"id": "100001"})).json()["token"]
    image = next(s for s in token["catalog"] if s["type"] == "image")
    public = [e for e in image["endpoints"] if e["interface"] == "public"]
    assert [(e["region"], e["region_id"], e["url"]) for e in public] == [
        ("IAD", "IAD", f"{BASE}/iad/images"),
        ("DFW", "DFW", f"{BASE}/dfw/images"),
    ]
    internal = next(e for e in image["endpoints"] if e["interface"] == "internal")
    assert internal["url"] != public[0]["url"]
    assert session.get(f"{internal['url']}/versions").status_code == 404
    assert {r["name"] for r in token["roles"]} == {"member", "reader"}


def test_an_application_credential_login_is_scoped_to_its_project(session):
    response = session.post(KEYSTONE, json=keystone_app_credential())
    assert response.status_code == 201
    token = response.json()["token"]
    assert token["project"]["id"] == "100001"
    assert token["application_credential"]["id"] == "acme-appcred"
    assert response.headers["X-Subject-Token"]


def test_an_application_credential_with_a_scope_gets_401(session):
    body = keystone_app_credential()
    body["auth"]["scope"] = {"project": {"id": "100001"}}
    assert session.post(KEYSTONE, json=body).status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        keystone_password({"id": "100001"}, password="wrong"),
        keystone_password({"id": "100002"}),  # a project the user is not in
        keystone_password({"name": "Acme", "domain": {"id": "other"}}),
        keystone_app_credential(secret="wrong"),
    ],
)
def test_wrong_keystone_credentials_get_401_with_keystones_error_body(session, body):
    response = session.post(KEYSTONE, json=body)
    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": 401,
        "title": "Unauthorized",
        "message": "The request you have made requires authentication.",
    }


def test_a_malformed_keystone_body_gets_400(session):
    response = session.post(KEYSTONE, json={"auth": {}})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 400


def test_glance_without_a_token_or_with_a_bad_one_gets_webobs_401(session):
    for headers in ({}, {"X-Auth-Token": "forged"}):
        headers["Accept"] = "application/json"
        response = session.get(f"{BASE}/iad/images/v2/images", headers=headers)
        assert response.status_code == 401  # docs/glance-observed.md row 2
        assert response.json()["message"].startswith(
            "This server could not verify that you are authorized"
        )


def test_expired_tokens_get_401_until_the_client_logs_in_again(session, state):
    token = session.post(RACKSPACE, json=api_key_login()).json()["access"]["token"]["id"]
    url = f"{BASE}/iad/images/v2/images"
    assert session.get(url, headers={"X-Auth-Token": token}).status_code == 200
    state.expire_tokens()
    assert session.get(url, headers={"X-Auth-Token": token}).status_code == 401
    fresh = session.post(RACKSPACE, json=api_key_login()).json()["access"]["token"]["id"]
    assert session.get(url, headers={"X-Auth-Token": fresh}).status_code == 200
    assert state.token_count() == 2


def test_the_token_lifetime_sets_expires(session, state):
    state.token_ttl = 60
    token = session.post(KEYSTONE, json=keystone_password({"id": "100001"})).json()["token"]
    expires = datetime.fromisoformat(token["expires_at"])
    assert abs((expires - datetime.now(UTC)).total_seconds() - 60) < 5


def test_responses_carry_a_request_id_where_glance_33_sends_one(session):
    token = session.post(RACKSPACE, json=api_key_login()).json()["access"]["token"]["id"]
    responses = [
        session.post(RACKSPACE, json=api_key_login()),
        session.post(RACKSPACE, json=api_key_login(api_key="wrong")),
        session.get(f"{BASE}/iad/images/v2/images", headers={"X-Auth-Token": token}),
        session.get(f"{BASE}/iad/images/v2/images/nope", headers={"X-Auth-Token": token}),
        session.get(f"{BASE}/nowhere"),
    ]
    ids = {r.headers["x-openstack-request-id"] for r in responses}
    assert len(ids) == 5
    assert all(i.startswith("req-") for i in ids)
    # Glance's context middleware sets the id: the versions document and the 401s it
    # answers itself have none (conformance run against Glance 33).
    for response in (
        session.get(f"{BASE}/iad/images/versions"),
        session.get(f"{BASE}/iad/images/"),
        session.get(f"{BASE}/iad/images/v2/images"),
        session.get(f"{BASE}/iad/images/v2/images", headers={"X-Auth-Token": "expired"}),
    ):
        assert "x-openstack-request-id" not in response.headers


# Version discovery, as keystoneauth reads it before it authenticates


def test_the_identity_root_answers_300_with_v3_first_and_v2_0(session):
    response = session.get(f"{BASE}/identity")
    assert response.status_code == 300
    values = response.json()["versions"]["values"]
    assert [(v["id"], v["status"]) for v in values] == [("v3.14", "stable"), ("v2.0", "deprecated")]
    assert values[0]["links"] == [{"rel": "self", "href": f"{BASE}/identity/v3/"}]
    assert values[0]["media-types"][0]["type"] == "application/vnd.openstack.identity-v3+json"
    assert response.headers["Location"] == f"{BASE}/identity/v3/"
    assert session.get(f"{BASE}/identity/").status_code == 300


@pytest.mark.parametrize(
    ("path", "version"), [("v3", "v3.14"), ("v3/", "v3.14"), ("v2.0", "v2.0"), ("v2.0/", "v2.0")]
)
def test_each_identity_version_has_its_own_document(session, path, version):
    response = session.get(f"{BASE}/identity/{path}")
    assert response.status_code == 200
    document = response.json()["version"]
    assert document["id"] == version
    assert document["links"][0]["href"] == f"{BASE}/identity/{path.rstrip('/')}/"


def test_the_keystone_catalog_lists_identity_unversioned_in_every_region(session):
    token = session.post(KEYSTONE, json=keystone_password({"id": "100001"})).json()["token"]
    identity = next(s for s in token["catalog"] if s["type"] == "identity")
    public = [e for e in identity["endpoints"] if e["interface"] == "public"]
    assert [(e["region"], e["url"]) for e in public] == [
        ("IAD", f"{BASE}/identity"),
        ("DFW", f"{BASE}/identity"),
    ]


# Keystone v3 projects, as Keystone's default policies show them to a project user


def keystone_token(session, username: str = "acme-admin", project: str = "100001") -> str:
    body = keystone_password({"id": project})
    body["auth"]["identity"]["password"]["user"]["name"] = username
    return session.post(KEYSTONE, json=body).headers["X-Subject-Token"]


def projects(session, token: str, path: str = "projects", **params: str):
    return session.get(f"{BASE}/identity/v3/{path}", headers={"X-Auth-Token": token}, params=params)


def test_a_project_user_may_show_its_own_project(session):
    response = projects(session, keystone_token(session), "projects/100001")
    assert response.status_code == 200
    project = response.json()["project"]
    assert (project["id"], project["name"], project["domain_id"]) == ("100001", "Acme", "default")
    assert project["links"]["self"] == f"{BASE}/identity/v3/projects/100001"


@pytest.mark.parametrize("project_id", ["100002", "no-such-project"])
def test_a_project_user_gets_403_for_any_other_project(session, project_id):
    response = projects(session, keystone_token(session), f"projects/{project_id}")
    assert response.status_code == 403
    assert response.json()["error"]["message"] == (
        "You are not authorized to perform the requested action: identity:get_project."
    )


def test_a_project_user_may_not_list_projects_even_by_name(session):
    token = keystone_token(session)
    for params in ({}, {"name": "Globex"}, {"name": "Globex", "domain_id": "default"}):
        response = projects(session, token, **params)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == 403


def test_an_admin_lists_projects_filtered_by_name_and_domain(session, state):
    state.add_user("root", "100002", password="pw", roles=("admin", "member", "reader"))
    token = keystone_token(session, "root", "100002")
    everything = projects(session, token).json()["projects"]
    assert [p["name"] for p in everything] == ["Acme", "Globex"]
    assert [p["id"] for p in projects(session, token, name="Globex").json()["projects"]] == [
        "100002"
    ]
    assert projects(session, token, name="Globex", domain_id="other").json()["projects"] == []
    assert projects(session, token, "projects/100001").json()["project"]["name"] == "Acme"
    assert projects(session, token, "projects/nope").status_code == 404


def test_a_user_lists_the_projects_it_has_a_role_on(session, state):
    token = keystone_token(session)
    mine = projects(session, token, "auth/projects").json()["projects"]
    assert [p["id"] for p in mine] == ["100001"]
    user_id = state.user("acme-admin").user_id
    assert [
        p["id"] for p in projects(session, token, f"users/{user_id}/projects").json()["projects"]
    ] == ["100001"]
    assert projects(session, token, "users/someone-else/projects").status_code == 403


def test_projects_without_a_token_get_keystones_401(session):
    response = session.get(f"{BASE}/identity/v3/projects")
    assert response.status_code == 401
    assert response.json()["error"]["title"] == "Unauthorized"
