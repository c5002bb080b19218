"""A crash between the upstream call and recording its answer leaves an attempt open;
`sync_shares` settles it from what the cloud shows."""

from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone

from sharing.models import Action, LedgerEntry, Outcome, Share

from .conftest import ACME, GLOBEX, acme_image


def open_attempt(team, action, image_id, tenant, minutes_ago=10):
    return LedgerEntry.objects.create(
        team=team,
        actor_name="alice",
        action=action,
        region="IAD",
        image_id=image_id,
        tenant=tenant,
        created_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


def settle():
    call_command("sync_shares", stdout=open("/dev/null", "w"))  # noqa: SIM115


def test_a_share_that_reached_the_cloud_is_settled_as_succeeded(team, cloud):
    image_id = acme_image(cloud)
    cloud.add_member(image_id, GLOBEX)
    entry = open_attempt(team, Action.SHARE, image_id, GLOBEX)
    settle()
    entry.refresh_from_db()
    assert entry.outcome == Outcome.SUCCEEDED
    assert f"{GLOBEX} was not a member before it (created after it began); a member now" in (
        entry.settlement
    )


def test_a_share_that_never_reached_the_cloud_is_settled_as_failed(team, cloud):
    entry = open_attempt(team, Action.SHARE, acme_image(cloud), GLOBEX)
    settle()
    entry.refresh_from_db()
    assert entry.outcome == Outcome.FAILED


def test_a_revoke_is_settled_by_the_member_being_gone(team, cloud):
    entry = open_attempt(team, Action.REVOKE, acme_image(cloud), GLOBEX)
    settle()
    entry.refresh_from_db()
    assert entry.outcome == Outcome.SUCCEEDED


def test_an_accept_is_settled_by_our_member_status(team, cloud):
    offer = cloud.create_image(owner=GLOBEX, name="offer")["id"]
    cloud.add_member(offer, ACME, "accepted")
    entry = open_attempt(team, Action.ACCEPT, offer, ACME)
    settle()
    entry.refresh_from_db()
    assert entry.outcome == Outcome.SUCCEEDED


def test_a_fresh_attempt_is_left_alone_as_it_may_still_be_running(team, cloud):
    entry = open_attempt(team, Action.SHARE, acme_image(cloud), GLOBEX, minutes_ago=0)
    settle()
    entry.refresh_from_db()
    assert entry.outcome is None


def test_an_attempt_stays_open_while_the_cloud_cannot_answer(team, cloud):
    entry = open_attempt(team, Action.SHARE, acme_image(cloud), GLOBEX)
    cloud.add_fault("error", route="member_get", status=503)
    settle()
    entry.refresh_from_db()
    assert entry.outcome is None


def test_a_consumers_status_change_is_copied_and_recorded(client, alice, team, cloud):
    image_id = acme_image(cloud)
    client.force_login(alice)
    client.post(f"/t/acme/images/{image_id}/share/", {"members": GLOBEX})
    cloud.add_member(image_id, GLOBEX, "accepted")  # Globex accepts in its own cloud console
    settle()
    assert Share.objects.get(tenant=GLOBEX).status == "accepted"
    drift = LedgerEntry.objects.get(action=Action.DRIFT)
    assert (drift.actor_name, drift.tenant) == ("system", GLOBEX)
    assert "accepted" in drift.message
    settle()
    assert LedgerEntry.objects.filter(action=Action.DRIFT).count() == 1  # nothing new


def test_members_removed_or_added_outside_the_dashboard_are_recorded(client, alice, team, cloud):
    image_id = acme_image(cloud)
    client.force_login(alice)
    client.post(f"/t/acme/images/{image_id}/share/", {"members": GLOBEX})
    cloud.delete_member(cloud.member(image_id, GLOBEX))
    cloud.add_member(image_id, "100077")
    settle()
    assert Share.objects.get(tenant=GLOBEX).revoked_at is not None
    found = Share.objects.get(tenant="100077", revoked_at=None)
    assert found.shared_by is None
    messages = sorted(
        LedgerEntry.objects.filter(action=Action.DRIFT).values_list("message", flat=True)
    )
    assert messages == [
        "A member added outside the dashboard.",
        "No longer a member upstream: removed outside the dashboard.",
    ]
