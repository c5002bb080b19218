"""Property-based fuzzing (hypothesis) of every form field and query parameter.

Whatever is typed into a field, put in a query string or named by the cloud, the answer is never
a server error, and text that comes back in a page is escaped. A fuzzed team setting must also
leave the background job able to run.
"""

import pytest
from django.core import mail
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sharing import services
from sharing.models import AccessRequest, Membership, Role

from .conftest import GLOBEX, INITECH, acme_image, make_user

MARK = '<i data-fuzz="1">'

# Values that broke something once, or could: dates and numbers at the edges, digits that are
# not ASCII, header and formula injection, bidi overrides, markup.
# Each is tried in every field on its own, before the generated examples.
EDGES = [
    "-1", "²", "9999-12-31", "0001-01-01", "99999999999999999999999", "1000000000",
    " =1+1", "\r\nBcc: x@example.com", "\u202eevil", "\x00", MARK, "x" * 3000,
]  # fmt: skip
MORE = ["", " ", "0", "٣", "𝟗", "1e3", "2026-02-30", "-99999999999999999999", "%00", "a\nb"]

VALUES = st.one_of(
    st.sampled_from(EDGES + MORE),
    st.text(max_size=30),
    st.integers().map(str),
    st.dates().map(str),
    st.text(max_size=10).map(lambda text: text + MARK),
)

# Derandomized: the same examples every run (no flaky suite, no example database).
FUZZ = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def assert_safe(response) -> None:
    assert response.status_code < 500, response.status_code
    if response.get("Content-Type", "").startswith("text/html") and not response.streaming:
        assert MARK.encode() not in response.content, "input reflected without escaping"


def with_edges(names, **valid):
    """Every edge value in each field alone (over the valid ones), as explicit examples."""

    def decorate(run):
        for name in names:
            for edge in EDGES:
                run = example(data={**valid, name: edge})(run)
        return run

    return decorate


def fields(*names: str, **valid: str):
    """Some of the fields (one bad value must not hide behind another), over valid ones."""
    fuzzed = st.fixed_dictionaries({}, optional={name: VALUES for name in names})
    return fuzzed.map(lambda drawn: {**valid, **drawn})


@pytest.fixture
def acme(cloud, team, alice, bob):
    image = acme_image(cloud, name="web-base", visibility="shared")
    cloud.add_member(image, GLOBEX)
    return {"image": image, "cloud": cloud, "team": team}


# Query parameters of every page.

QUERIES = {
    "/t/acme/images/": ["name", "visibility", "status", "marker", "region", "sort"],
    "/t/acme/images/{image}/": ["region", "page", "tenant", "sort"],
    "/t/acme/incoming/": ["region"],
    "/t/acme/history/": [
        "image", "member", "actor", "action", "outcome", "channel", "since", "until", "before",
    ],
    "/t/acme/history.csv": [
        "image", "member", "actor", "action", "outcome", "channel", "since", "until",
    ],
    "/t/acme/requests/": ["status", "page"],
    "/t/acme/requests/new/": ["image_id", "member", "justification", "expires_at", "region"],
    "/t/acme/partners/": ["region"],
    "/t/acme/settings/": ["region"],
    "/": ["team"],
}  # fmt: skip


@pytest.mark.parametrize("path", sorted(QUERIES))
def test_no_query_string_makes_a_page_fail(client, acme, alice, path):
    client.force_login(alice)
    url = path.format(image=acme["image"])

    @FUZZ
    @given(data=fields(*QUERIES[path]))
    @with_edges(QUERIES[path])
    def run(data):
        response = client.get(url, data)
        assert_safe(response)
        if response.streaming:
            b"".join(response.streaming_content)  # the CSV is built while it streams

    run()


# Forms.

FORMS = {
    "share": ("members", "partners", "expires_at", "note", "make_shared"),
    "revoke": ("note",),
    "request_new": ("image_id", "member", "justification", "expires_at"),
    "partners": ("name", "tenant", "notes"),
    "link_images": ("images",),
    "approve": ("note", "make_shared"),
    "reject": ("note",),
}

VALID = {
    "share": {"members": INITECH},
    "request_new": {"image_id": "{image}", "member": INITECH, "justification": "pilot"},
}


def _form_url(form: str, acme: dict) -> str:
    image = acme["image"]
    return {
        "share": f"/t/acme/images/{image}/share/?region=IAD",
        "revoke": f"/t/acme/images/{image}/members/{GLOBEX}/revoke/?region=IAD",
        "request_new": "/t/acme/requests/new/?region=IAD",
        "partners": "/t/acme/partners/",
        "link_images": "/t/acme/settings/link/images/",
    }.get(form, "")


@pytest.mark.parametrize("form", sorted(FORMS))
def test_no_form_input_makes_a_post_fail(client, acme, alice, form):
    client.force_login(alice)
    url = _form_url(form, acme)
    if not url:  # decisions need a request filed by someone else
        erin = make_user("erin")
        Membership.objects.create(user=erin, team=acme["team"], role=Role.ADMIN)
        filed = services.access_request_create(
            team=acme["team"], region="IAD", image_id=acme["image"], tenant=INITECH,
            justification="pilot", requested_by=erin,
        )  # fmt: skip
        url = f"/t/acme/requests/{filed.pk}/{form}/"

    @FUZZ
    @given(data=fields(*FORMS[form], **VALID.get(form, {})))
    @with_edges(FORMS[form], **VALID.get(form, {}))
    def run(data):
        data = {key: value.replace("{image}", acme["image"]) for key, value in data.items()}
        assert_safe(client.post(url, data, follow=True))

    run()


def test_no_team_setting_is_saved_that_stops_the_time_limits_job(client, acme, alice):
    client.force_login(alice)
    numbers = st.one_of(VALUES, st.integers(min_value=-(2**70), max_value=2**70).map(str))
    valid = {
        "approval_policy": "members",
        "max_share_days": "90",
        "request_expiry_days": "14",
        "reminder_days": "3",
    }

    @FUZZ
    @given(data=st.fixed_dictionaries({}, optional=dict.fromkeys(valid, numbers)))
    @with_edges(list(valid), **valid)
    def run(data):
        data = {**valid, **data}
        assert_safe(client.post("/t/acme/settings/", data, follow=True))
        acme["team"].refresh_from_db()
        services.team_time_limits(team=acme["team"])  # must not raise, whatever was saved

    run()


def test_no_input_on_the_public_request_link_makes_it_fail(client, acme, settings):
    settings.OUTSIDE_REQUEST_RATE_PER_ADDRESS = "100000/h"
    settings.OUTSIDE_REQUEST_RATE_PER_LINK = "100000/h"
    team = acme["team"]
    services.request_link_rotate(team=team)
    team.refresh_from_db()
    team.request_link_images = [acme["image"]]
    team.save(update_fields=["request_link_images"])
    url = f"/r/{team.request_link_token}/"
    names = ["name", "email", "member", "image_id", "justification", "expires_at"]
    valid = {
        "name": "Wile E.", "email": "wile@example.com", "member": INITECH,
        "image_id": acme["image"], "justification": "pilot",
    }  # fmt: skip

    @FUZZ
    @given(data=fields(*names, **valid))
    @with_edges(names, **valid)
    def run(data):
        assert_safe(client.post(url, data, follow=True))

    run()


def test_no_login_input_makes_the_login_page_fail(client, acme):
    @FUZZ
    @given(data=fields("login", "password", login="alice", password="wrong"))
    @with_edges(["login", "password"], login="alice", password="wrong")
    def run(data):
        assert_safe(client.post("/accounts/login/", data))

    run()


# Text the cloud gives us: image names reach pages, e-mails and the CSV.


def test_no_image_name_from_the_cloud_makes_a_page_or_an_email_fail(client, acme, alice, bob):
    cloud = acme["cloud"]

    @FUZZ
    @given(data=st.fixed_dictionaries({"name": VALUES}))
    @with_edges(["name"])
    def run(data):
        name = data["name"]
        image = acme_image(cloud, name=name, visibility="shared")
        client.force_login(bob)
        response = client.post(
            "/t/acme/requests/new/?region=IAD",
            {"image_id": image, "member": INITECH, "justification": "fuzz"},
        )
        assert_safe(response)
        filed = AccessRequest.objects.filter(image_id=image).first()
        client.force_login(alice)
        pages = ["/t/acme/images/", f"/t/acme/images/{image}/", "/t/acme/history/"]
        if filed is not None:
            pages += [f"/t/acme/requests/{filed.pk}/", "/t/acme/requests/"]
        for page in pages:
            assert_safe(client.get(page))
        for message in mail.outbox:
            message.message()  # headers are built here
        mail.outbox.clear()

    run()
