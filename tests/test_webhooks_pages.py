"""The webhooks settings pages and API: add an endpoint (secret shown once), ping, the
delivery log, redeliver, rotate, disable, delete."""

import pytest
from standardwebhooks import Webhook

from sharing.webhooks.models import Delivery, Endpoint

from .api import ApiClient, token_for
from .conftest import messages_of


def test_an_admin_adds_an_endpoint_and_sees_its_secret_once(client, alice, receiver):
    client.force_login(alice)
    response = client.post(
        "/t/acme/settings/webhooks/",
        {"url": receiver.url, "events": ["share.succeeded", "share.revoked"]},
    )
    secret = response.context["secret"]
    assert secret.startswith("whsec_") and secret in response.text
    Webhook(secret)  # the package accepts it as a signing secret
    found = Endpoint.objects.get()
    assert (found.url, found.events) == (receiver.url, ["share.revoked", "share.succeeded"])
    assert secret not in found.secret_encrypted
    page = client.get("/t/acme/settings/webhooks/")
    assert receiver.url in page.text and secret not in page.text


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("ftp://hooks.example.com/", "Use an http or https URL."),
        ("https://user:pw@hooks.example.com/", "Leave credentials out of the URL"),
        ("http://169.254.169.254/latest/", "cloud metadata address"),
    ],
)
def test_a_url_that_will_not_be_called_is_refused_with_a_reason(client, alice, url, error):
    client.force_login(alice)
    response = client.post("/t/acme/settings/webhooks/", {"url": url, "events": ["share.failed"]})
    assert error in " ".join(response.context["form"].errors["url"])
    assert not Endpoint.objects.exists()


def test_a_ping_is_delivered_verified_and_logged_with_its_answer(client, alice, endpoint, receiver):
    receiver.respond = lambda received: (200, {}, b"pong")
    client.force_login(alice)
    response = client.post(f"/t/acme/settings/webhooks/{endpoint.pk}/ping/", follow=True)
    assert "Ping delivered: 200" in messages_of(response)[0]
    [received] = receiver.received
    assert received.verified and received.event["type"] == "ping"
    row = Delivery.objects.get()
    assert (row.state, row.attempts, row.status_code, row.response_head) == (
        "delivered", 1, 200, "pong",
    )  # fmt: skip
    assert "pong" in response.text and "Redeliver" in response.text


def test_a_failed_ping_says_so_and_waits_for_its_retry(client, alice, endpoint, receiver):
    receiver.respond = lambda received: (500, {}, b"")
    client.force_login(alice)
    response = client.post(f"/t/acme/settings/webhooks/{endpoint.pk}/ping/", follow=True)
    assert "Ping not delivered (answered 500)" in messages_of(response)[0]


def test_redeliver_sends_the_logged_event_again(client, alice, endpoint, receiver, committed):
    client.force_login(alice)
    client.post(f"/t/acme/settings/webhooks/{endpoint.pk}/ping/")
    row = Delivery.objects.get()
    with committed():
        client.post(f"/t/acme/settings/webhooks/{endpoint.pk}/deliveries/{row.pk}/redeliver/")
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"] and second.verified


def test_rotating_shows_the_new_secret_once_and_both_sign_for_a_while(
    client, alice, endpoint, receiver
):
    client.force_login(alice)
    response = client.post(f"/t/acme/settings/webhooks/{endpoint.pk}/rotate/")
    new = response.context["secret"]
    assert new in response.text and new not in receiver.secrets
    receiver.secrets.append(new)
    client.post(f"/t/acme/settings/webhooks/{endpoint.pk}/ping/")
    assert len(receiver.received[0].verified_by) == 2


def test_a_disabled_endpoint_gets_no_new_events_and_what_waited_goes_when_enabled(
    client, alice, team, cloud, endpoint, receiver, committed
):
    from sharing.services import ledger_record

    receiver.respond = lambda received: (500, {}, b"")
    with committed():
        ledger_record(team=team, actor=None, action="drift", tenant="100002", image_id="i")
    client.force_login(alice)
    client.post(f"/t/acme/settings/webhooks/{endpoint.pk}/disable/")
    with committed():
        ledger_record(team=team, actor=None, action="drift", tenant="100003", image_id="i")
    assert len(receiver.received) == 1 and Delivery.objects.count() == 1
    receiver.respond = lambda received: (204, {}, b"")
    with committed():
        client.post(f"/t/acme/settings/webhooks/{endpoint.pk}/enable/")
    assert [r.event["data"]["tenant"] for r in receiver.received] == ["100002", "100002"]
    assert Delivery.objects.get().state == "delivered"


def test_deleting_an_endpoint_removes_it_and_its_log(client, alice, endpoint):
    client.force_login(alice)
    client.post(f"/t/acme/settings/webhooks/{endpoint.pk}/ping/")
    client.post(f"/t/acme/settings/webhooks/{endpoint.pk}/delete/")
    assert not Endpoint.objects.exists() and not Delivery.objects.exists()


def test_the_settings_page_links_to_webhooks(client, alice, cloud):
    client.force_login(alice)
    assert 'href="/t/acme/settings/webhooks/"' in client.get("/t/acme/settings/").text


# The API


def test_the_api_adds_an_endpoint_answering_its_secret_once(alice, team, receiver):
    api = ApiClient(token_for(alice, team))
    answer = api.post("/api/v1/teams/acme/webhooks/", {"url": receiver.url, "events": ["ping"]})
    assert answer.status_code == 400 and "events" in answer.json()["errors"]
    answer = api.post(
        "/api/v1/teams/acme/webhooks/", {"url": receiver.url, "events": ["share.failed"]}
    )
    assert answer.status_code == 201
    created = answer.json()
    assert created["secret"].startswith("whsec_") and created["events"] == ["share.failed"]
    listed = api.get("/api/v1/teams/acme/webhooks/").json()
    assert [e["id"] for e in listed] == [created["id"]] and "secret" not in listed[0]


def test_the_api_pings_lists_deliveries_rotates_and_deletes(alice, team, endpoint, receiver):
    api = ApiClient(token_for(alice, team))
    base = f"/api/v1/teams/acme/webhooks/{endpoint.pk}"
    ping = api.post(f"{base}/ping/").json()
    assert (ping["type"], ping["state"], ping["status_code"]) == ("ping", "delivered", 204)
    assert ping["webhook_id"] == receiver.received[0].headers["webhook-id"]
    deliveries = api.get(f"{base}/deliveries/").json()
    assert [d["id"] for d in deliveries["results"]] == [ping["id"]]
    rotated = api.post(f"{base}/rotate/").json()
    receiver.secrets.append(rotated["secret"])
    api.post(f"{base}/ping/")
    assert len(receiver.received[-1].verified_by) == 2
    assert api.delete(f"{base}/").status_code == 204
    assert api.get(f"{base}/deliveries/").status_code == 404


def test_members_may_not_use_the_webhooks_api_and_other_teams_see_nothing(
    bob, dave, team, other_team, endpoint
):
    member = ApiClient(token_for(bob, team))
    assert member.get("/api/v1/teams/acme/webhooks/").status_code == 403
    assert member.post(f"/api/v1/teams/acme/webhooks/{endpoint.pk}/ping/").status_code == 403
    outsider = ApiClient(token_for(dave, other_team))
    assert (
        outsider.get(f"/api/v1/teams/umbrella/webhooks/{endpoint.pk}/deliveries/").status_code
        == 404
    )


def test_the_webhooks_pages_are_part_of_the_settings_area(client, alice, endpoint):
    client.force_login(alice)
    page = client.get(f"/t/acme/settings/webhooks/{endpoint.pk}/")
    assert 'href="/t/acme/settings/" aria-current="page"' in page.text
