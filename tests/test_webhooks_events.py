"""Each webhook event from its real trigger: the browser, the API and the background jobs,
through the built-in cloud, delivered to a local receiver that verifies every signature."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from sharing.models import AccessRequest, LedgerEntry, Share
from sharing.webhooks.models import Delivery, Event

from .api import ApiClient, token_for
from .conftest import ACME, GLOBEX, INITECH, acme_image
from .webhooks import add_endpoint


@pytest.fixture
def image_id(cloud):
    return acme_image(cloud)


def share(client, image_id, members):
    return client.post(f"/t/acme/images/{image_id}/share/?region=IAD", {"members": members})


def sync():
    call_command("sync_shares", "--settle-after", "0", stdout=io.StringIO())


def only(receiver, event_type):
    [found] = [r for r in receiver.received if r.event["type"] == event_type]
    assert found.verified
    return found


def test_a_share_in_the_browser_sends_share_succeeded_signed_and_shaped_as_the_api_shows_it(
    client, alice, team, cloud, image_id, endpoint, receiver, committed
):
    client.force_login(alice)
    with committed():
        share(client, image_id, GLOBEX)
    received = only(receiver, "share.succeeded")
    body = received.event
    assert set(body) == {"type", "timestamp", "team", "data"}
    assert body["team"] == "acme"
    entry = LedgerEntry.objects.get(tenant=GLOBEX)
    assert body["data"]["id"] == entry.pk
    assert (body["data"]["tenant"], body["data"]["outcome"]) == (GLOBEX, "succeeded")
    assert (body["data"]["actor"], body["data"]["channel"]) == ("alice", "web")
    assert received.headers["webhook-id"] == Event.objects.get().message_id
    assert Delivery.objects.get().state == "delivered"


def test_a_share_through_the_api_sends_share_succeeded_from_the_api_channel(
    alice, team, cloud, image_id, endpoint, receiver, committed
):
    api = ApiClient(token_for(alice, team))
    with committed():
        answer = api.post(f"/api/v1/teams/acme/images/{image_id}/members/", {"tenants": [GLOBEX]})
    assert answer.status_code == 200
    assert only(receiver, "share.succeeded").event["data"]["channel"] == "api"


def test_a_failed_share_sends_share_failed(
    client, alice, cloud, image_id, endpoint, receiver, committed
):
    cloud.add_fault("error", route="member_create", status=403, times=1)
    client.force_login(alice)
    with committed():
        share(client, image_id, GLOBEX)
    assert only(receiver, "share.failed").event["data"]["http_status"] == 403


def test_an_unknown_outcome_sends_nothing_until_settled_then_share_settled(
    client, alice, cloud, image_id, endpoint, receiver, committed
):
    cloud.add_fault("late", route="member_create", seconds=60, times=1)
    client.force_login(alice)
    with committed():
        share(client, image_id, GLOBEX)
    assert receiver.received == [] and not Event.objects.exists()
    cloud.apply_late()
    with committed():
        sync()
    data = only(receiver, "share.settled").event["data"]
    assert (data["tenant"], data["outcome"], data["action"]) == (GLOBEX, "succeeded", "share")
    assert data["settled_at"] is not None
    assert "share.succeeded" not in receiver.types()


def test_a_revoke_sends_share_revoked(
    client, alice, cloud, image_id, endpoint, receiver, committed
):
    client.force_login(alice)
    share(client, image_id, GLOBEX)
    with committed():
        client.post(f"/t/acme/images/{image_id}/members/{GLOBEX}/revoke/?region=IAD")
    assert only(receiver, "share.revoked").event["data"]["tenant"] == GLOBEX


def test_a_share_reaching_its_end_sends_share_expired(
    client, alice, cloud, image_id, endpoint, receiver, committed
):
    client.force_login(alice)
    share(client, image_id, GLOBEX)
    Share.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    with committed():
        call_command("expire_shares", stdout=io.StringIO())
    data = only(receiver, "share.expired").event["data"]
    assert (data["tenant"], data["actor"]) == (GLOBEX, "system")


def test_the_sync_finding_members_changed_outside_sends_drift_found(
    team, cloud, image_id, endpoint, receiver, committed
):
    cloud.add_member(image_id, INITECH)  # shared in the cloud's own console
    with committed():
        sync()
    data = only(receiver, "drift.found").event["data"]
    assert (data["tenant"], data["action"]) == (INITECH, "drift")


def test_a_tenant_accepting_sends_member_status_changed_and_drift_found(
    client, alice, cloud, image_id, endpoint, receiver, committed
):
    client.force_login(alice)
    share(client, image_id, GLOBEX)
    cloud.add_member(image_id, GLOBEX, "accepted")  # Globex accepts in its own console
    with committed():
        sync()
    data = only(receiver, "member.status_changed").event["data"]
    assert (data["tenant"], data["status"], data["previous_status"]) == (
        GLOBEX, "accepted", "pending",
    )  # fmt: skip
    assert only(receiver, "drift.found")


def test_answering_an_incoming_share_sends_member_status_changed(
    client, alice, cloud, endpoint, receiver, committed
):
    offered = cloud.create_image(owner=GLOBEX, name="Globex CRM appliance")["id"]
    cloud.add_member(offered, ACME, "pending")
    client.force_login(alice)
    with committed():
        client.post(f"/t/acme/incoming/{offered}/accept/?region=IAD")
    data = only(receiver, "member.status_changed").event["data"]
    assert (data["image_id"], data["tenant"], data["status"]) == (offered, ACME, "accepted")
    assert data["image_name"] == "Globex CRM appliance"


def test_requests_send_created_approved_rejected_and_expired_shaped_as_the_api_shows_them(
    client, alice, bob, team, cloud, image_id, endpoint, receiver, committed
):
    client.force_login(bob)
    with committed():
        for tenant in (GLOBEX, INITECH, "100004"):
            client.post(
                "/t/acme/requests/new/",
                {"image_id": image_id, "member": tenant, "justification": "pilot"},
            )
    created = [r.event["data"] for r in receiver.received if r.event["type"] == "request.created"]
    assert [d["member"] for d in created] == [GLOBEX, INITECH, "100004"]
    assert {d["status"] for d in created} == {"pending"}
    first, second, third = AccessRequest.objects.order_by("pk")
    api = ApiClient(token_for(alice, team))
    with committed():
        api.post(f"/api/v1/teams/acme/requests/{first.pk}/approve/", {"note": "ok"})
        client.force_login(alice)
        client.post(f"/t/acme/requests/{second.pk}/reject/", {"note": "not this one"})
        AccessRequest.objects.filter(pk=third.pk).update(
            created_at=timezone.now() - timedelta(days=team.request_expiry_days + 1)
        )
        call_command("expire_shares", stdout=io.StringIO())
    approved = only(receiver, "request.approved").event["data"]
    assert (approved["id"], approved["status"], approved["decided_by"]) == (
        first.pk, "approved", "alice",
    )  # fmt: skip
    rejected = only(receiver, "request.rejected").event["data"]
    assert (rejected["id"], rejected["decision_note"]) == (second.pk, "not this one")
    assert only(receiver, "request.expired").event["data"]["id"] == third.pk
    assert only(receiver, "share.succeeded").event["data"]["tenant"] == GLOBEX
    assert "share.expired" not in receiver.types()


def test_an_endpoint_gets_only_the_events_it_asked_for(
    client, alice, team, cloud, image_id, receiver, committed
):
    add_endpoint(team, receiver, events=["share.revoked"])
    client.force_login(alice)
    with committed():
        share(client, image_id, GLOBEX)
        client.post(f"/t/acme/images/{image_id}/members/{GLOBEX}/revoke/?region=IAD")
    assert receiver.types() == ["share.revoked"]
    assert Event.objects.count() == 1  # nothing is written for events nobody wants


def test_a_rolled_back_outcome_leaves_no_event(team, endpoint, receiver, committed):
    from django.db import transaction

    from sharing.services import ledger_record

    with committed(), pytest.raises(RuntimeError), transaction.atomic():
        ledger_record(team=team, actor=None, action="drift", tenant=GLOBEX, image_id="i")
        raise RuntimeError("the caller's transaction fails after the outcome")
    assert not Event.objects.exists() and receiver.received == []


def test_an_incoming_share_accepted_by_the_system_is_incoming_auto_accepted(
    team, endpoint, receiver, committed
):
    from sharing.services import ledger_record

    with committed():  # as a trust rule's accept will be recorded: by the system
        ledger_record(
            team=team, actor=None, action="accept", region="IAD", image_id="offered",
            tenant=ACME, note="Trust rule: Globex",
        )  # fmt: skip
    data = only(receiver, "incoming.auto_accepted").event["data"]
    assert (data["image_id"], data["actor"], data["channel"]) == ("offered", "system", "system")
