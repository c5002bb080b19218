"""Glance's error bodies follow the Accept header (WebOb 1.8, seen against Glance 33 in the
conformance run); identity errors are JSON whatever is accepted."""

import pytest

from builtin_cloud.web import error_media_type

from .glance_cast import FakeCloud, GlanceClient

UNKNOWN = "6f1c2b8e-3d7a-4c55-9a43-0bd0f0b9b5d1"


@pytest.fixture
def cloud() -> FakeCloud:
    return FakeCloud()


@pytest.fixture
def a(cloud: FakeCloud) -> GlanceClient:
    return cloud.client("a")


def get_unknown(a: GlanceClient, accept: str | None):
    headers = {"Accept": accept}  # requests leaves out a header whose value is None
    return a.get(f"/v2/images/{UNKNOWN}", headers=headers)


def test_json_when_json_is_accepted(a):
    response = get_unknown(a, "application/json")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {
        "message": f"No image found with ID {UNKNOWN}<br /><br />\n\n\n",
        "code": "404 Not Found",
        "title": "Not Found",
    }


def test_html_for_any_type(a):
    response = get_unknown(a, "*/*")
    assert response.headers["Content-Type"] == "text/html; charset=UTF-8"
    assert response.text == (
        "<html>\n <head>\n  <title>404 Not Found</title>\n </head>\n <body>\n"
        f"  <h1>404 Not Found</h1>\n  No image found with ID {UNKNOWN}<br /><br />\n\n\n\n"
        " </body>\n</html>"
    )


def test_plain_text_without_an_accept_header(a):
    response = get_unknown(a, None)
    assert response.headers["Content-Type"] == "text/plain; charset=UTF-8"
    assert response.text == f"404 Not Found\n\nNo image found with ID {UNKNOWN}\n\n   "


def test_html_escapes_the_message_and_plain_text_does_not(a):
    image_id = a.post("/v2/images", json={"name": "x"}, headers={"Accept": "application/json"})
    bad = a.post(
        f"/v2/images/{image_id.json()['id']}/members",
        json=[1],
        headers={"Accept": "text/html"},
    )
    assert "Expected a member in the form: {&quot;member&quot;: &quot;image_id&quot;}" in bad.text
    plain = a.post(
        f"/v2/images/{image_id.json()['id']}/members", json=[1], headers={"Accept": "text/plain"}
    )
    assert 'Expected a member in the form: {"member": "image_id"}' in plain.text


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, "text/plain"),
        ("", "text/plain"),
        ("*/*", "text/html"),
        ("text/*", "text/html"),
        ("application/*", "application/json"),
        ("text/plain, application/json", "application/json"),
        ("application/json;q=0.5, text/html;q=0.4", "application/json"),
        ("text/html;q=0", "text/plain"),
        ("application/xml", "text/plain"),
        ("garbage;;;", "text/html"),
    ],
)
def test_the_media_type_is_chosen_as_webob_chooses_it(accept, media_type):
    assert error_media_type(accept) == media_type


def test_identity_errors_are_json_whatever_is_accepted(cloud):
    response = cloud.session.get(
        f"{cloud.app.base_url}/identity/v3/projects", headers={"Accept": "text/html"}
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == 401
