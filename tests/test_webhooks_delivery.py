"""Delivering webhooks: retries, timeouts, redirects, workers killed at the wrong moment,
order per member, the address check and secret rotation; every request verified by a local
receiver with the `standardwebhooks` package."""

import time
from datetime import timedelta

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from sharing.services import ledger_record
from sharing.webhooks import delivery, services
from sharing.webhooks.models import Delivery, DeliveryState, Endpoint
from sharing.webhooks.receiver import Receiver
from sharing.webhooks.tasks import deliver_webhooks

from .conftest import GLOBEX, INITECH
from .webhooks import add_endpoint, later


def drift(team, tenant=GLOBEX, image_id="img-1"):
    """A final outcome with an event (a drift found by the sync), written as the sync does."""
    return ledger_record(
        team=team, actor=None, action="drift", region="IAD", image_id=image_id, tenant=tenant,
        message="A member added outside the dashboard.",
    )  # fmt: skip


def answering(*replies):
    """A `respond` that gives these replies in turn, then 204s."""
    queue = list(replies)
    return lambda received: queue.pop(0) if queue else (204, {}, b"")


def test_a_failing_receiver_gets_the_same_body_under_the_same_id_until_it_answers_2xx(
    team, endpoint, receiver, committed, monkeypatch
):
    receiver.respond = answering((500, {}, b"database is down"))
    with committed():
        drift(team)
    found = Delivery.objects.get()
    assert (found.state, found.attempts, found.status_code) == ("pending", 1, 500)
    assert found.response_head == "database is down"
    assert found.next_attempt_at - found.last_attempt_at == services.RETRY_DELAYS[0]
    assert deliver_webhooks.enqueue().return_value == {}  # not due yet
    with later(monkeypatch, timedelta(seconds=6)):
        deliver_webhooks.enqueue()
    found.refresh_from_db()
    assert (found.state, found.attempts, found.status_code) == ("delivered", 2, 204)
    first, second = receiver.received
    assert first.verified and second.verified
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body


def test_retries_follow_a_schedule_of_about_a_day_then_stop(
    team, endpoint, receiver, committed, monkeypatch
):
    receiver.respond = lambda received: (503, {}, b"")
    with committed():
        drift(team)
    elapsed = timedelta()
    for wait in services.RETRY_DELAYS:
        elapsed += wait
        with later(monkeypatch, elapsed):
            deliver_webhooks.enqueue()
    found = Delivery.objects.get()
    assert (found.state, found.attempts) == (DeliveryState.FAILED, len(services.RETRY_DELAYS) + 1)
    assert timedelta(hours=20) < elapsed < timedelta(hours=32)


@override_settings(WEBHOOKS_TIMEOUT=0.3)
def test_a_receiver_that_does_not_answer_in_time_is_a_failure(team, endpoint, receiver, committed):
    receiver.respond = lambda received: (time.sleep(1), (204, {}, b""))[1]
    with committed():
        drift(team)
    found = Delivery.objects.get()
    assert (found.state, found.status_code) == ("pending", None)
    assert found.error == "No answer within 0.3 s."


def test_a_redirect_is_not_followed_and_counts_as_a_failure(team, endpoint, receiver, committed):
    with Receiver([]) as elsewhere:
        receiver.respond = answering((302, {"Location": elsewhere.url}, b""))
        with committed():
            drift(team)
        assert elsewhere.received == []
    found = Delivery.objects.get()
    assert (found.state, found.status_code) == ("pending", 302)


def test_no_cookie_or_credential_is_sent(team, endpoint, receiver, committed):
    with committed():
        drift(team)
    [received] = receiver.received
    names = {name.lower() for name in received.headers}
    assert not names & {"cookie", "authorization", "proxy-authorization"}
    assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= names


def test_an_outbox_row_survives_a_worker_killed_before_delivery_and_the_next_run_sends_it(
    team, endpoint, receiver
):
    drift(team)  # committed; the process dies before the worker is woken (no on_commit run)
    assert Delivery.objects.get().state == "pending" and receiver.received == []
    assert deliver_webhooks.enqueue().return_value == {"delivered": 1}
    assert len(receiver.received) == 1 and receiver.received[0].verified


def test_a_worker_killed_mid_send_lets_the_delivery_go_after_its_hold_and_it_is_sent_again(
    team, endpoint, receiver, monkeypatch
):
    drift(team)
    [held] = services._claim([pk for pk, _ in services._due(timezone.now())], timezone.now())
    assert deliver_webhooks.enqueue().return_value == {}  # another worker leaves it alone
    with later(monkeypatch, services.CLAIM + timedelta(seconds=1)):
        assert deliver_webhooks.enqueue().return_value == {"delivered": 1}
    assert held.event.message_id == receiver.received[0].headers["webhook-id"]


def test_events_about_one_member_keep_their_order_while_others_go_ahead(
    team, endpoint, receiver, committed, monkeypatch
):
    receiver.respond = answering((500, {}, b""))
    with committed():
        drift(team, GLOBEX)  # fails first
        drift(team, GLOBEX)  # waits for the one before
        drift(team, INITECH)  # another member: goes
    tenants = [r.event["data"]["tenant"] for r in receiver.received]
    assert tenants == [GLOBEX, INITECH]
    with later(monkeypatch, timedelta(seconds=6)):
        deliver_webhooks.enqueue()
    ids = [r.headers["webhook-id"] for r in receiver.received]
    first, second, _ = Delivery.objects.order_by("id")
    assert ids[2:] == [first.event.message_id, second.event.message_id]


def test_an_endpoint_failing_for_five_days_is_disabled_and_the_admins_are_told(
    team, alice, endpoint, receiver, committed, monkeypatch
):
    receiver.respond = lambda received: (500, {}, b"")
    with committed():
        drift(team)
    assert Endpoint.objects.get().failing_since is not None
    mail.outbox.clear()
    with later(monkeypatch, timedelta(days=5, minutes=1)), committed():
        drift(team, INITECH)
    found = Endpoint.objects.get()
    assert not found.enabled and "5 days" in found.disabled_reason
    assert mail.outbox[0].to == ["alice@example.com"]
    assert endpoint.url in mail.outbox[0].body


def test_a_delivered_event_is_redelivered_with_the_same_id_and_body(
    team, endpoint, receiver, committed
):
    with committed():
        drift(team)
    with committed():
        services.delivery_redeliver(delivery=Delivery.objects.get())
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body and second.verified


# Where requests may go


def resolving_to(address):
    return lambda host, port: [address]


@override_settings(WEBHOOKS_ALLOW_PRIVATE=False)
@pytest.mark.parametrize("address", ["127.0.0.1", "169.254.169.254", "10.1.2.3", "::1"])
def test_a_name_resolving_to_a_private_or_metadata_address_is_refused_when_sent(
    team, receiver, committed, monkeypatch, address
):
    port = receiver.server.server_address[1]
    add_endpoint(team, receiver, url=f"http://hooks.example.com:{port}/hook")
    monkeypatch.setattr(delivery, "resolver", resolving_to(address))
    with committed():
        drift(team)
    found = Delivery.objects.get()
    assert found.state == "pending" and found.error.startswith(f"Refused: {address} is")
    assert receiver.received == []


def test_with_private_addresses_allowed_a_name_is_called_at_the_address_it_resolved_to(
    team, receiver, committed, monkeypatch
):
    port = receiver.server.server_address[1]
    add_endpoint(team, receiver, url=f"http://hooks.example.com:{port}/hook")
    monkeypatch.setattr(delivery, "resolver", resolving_to("127.0.0.1"))
    with committed():
        drift(team)
    [received] = receiver.received
    assert received.verified and received.headers["Host"] == f"hooks.example.com:{port}"


def test_metadata_addresses_are_refused_even_with_private_addresses_allowed(
    team, receiver, committed, monkeypatch
):
    add_endpoint(team, receiver, url="http://metadata.example.com/latest/meta-data/")
    monkeypatch.setattr(delivery, "resolver", resolving_to("169.254.169.254"))
    with committed():
        drift(team)
    assert Delivery.objects.get().error == "Refused: 169.254.169.254 is a cloud metadata address."


@override_settings(WEBHOOKS_ALLOW_PRIVATE=False)
def test_the_dns_answer_at_send_time_counts_not_the_one_when_saved(
    team, receiver, committed, monkeypatch
):
    add_endpoint(team, receiver, url="http://hooks.example.com/hook")
    monkeypatch.setattr(delivery, "resolver", resolving_to("93.184.216.34"))  # public when saved
    assert delivery.target_of("http://hooks.example.com/hook", allow_private=False)
    monkeypatch.setattr(delivery, "resolver", resolving_to("127.0.0.1"))  # rebound since
    with committed():
        drift(team)
    assert Delivery.objects.get().error.startswith("Refused: 127.0.0.1")


# Secret rotation


def test_after_a_rotation_both_secrets_sign_until_the_overlap_ends_then_only_the_new(
    team, endpoint, receiver, committed, monkeypatch
):
    [old] = receiver.secrets
    new = services.endpoint_rotate(endpoint=endpoint)
    receiver.secrets.append(new)
    with committed():
        drift(team)
    assert receiver.received[-1].verified_by == [old, new]
    assert len(receiver.received[-1].headers["webhook-signature"].split(" ")) == 2
    with later(monkeypatch, services.ROTATION_OVERLAP + timedelta(minutes=1)), committed():
        drift(team, INITECH)
    assert receiver.received[-1].verified_by == [new]


def test_the_hourly_job_sends_events_whose_wake_up_was_lost(team, cloud, endpoint, receiver):
    from sharing.tasks import enforce_time_limits

    drift(team)  # committed, and the process died before waking the worker
    enforce_time_limits.enqueue()
    assert [r.verified for r in receiver.received] == [True]


def test_a_run_whose_batches_run_out_of_time_sends_one_per_batch_and_still_everything(
    team, endpoint, receiver, monkeypatch
):
    monkeypatch.setattr(services, "CLAIM", timedelta(seconds=20))  # half the hold: 10 s
    with override_settings(WEBHOOKS_TIMEOUT=10):  # no time left once one is sent
        drift(team, GLOBEX)
        drift(team, INITECH)
        drift(team, GLOBEX)
        assert deliver_webhooks.enqueue().return_value == {"delivered": 3}
    assert [r.event["data"]["tenant"] for r in receiver.received] == [GLOBEX, INITECH, GLOBEX]


def test_an_ipv6_loopback_url_is_called_with_a_bracketed_host(team, committed):
    import socket

    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        receiver = Receiver([], host="::1")
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    with receiver:
        port = receiver.server.server_address[1]
        add_endpoint(team, receiver)  # http://[::1]:<port>/hook
        with committed():
            drift(team)
    [received] = receiver.received
    assert received.verified and received.headers["Host"] == f"[::1]:{port}"
