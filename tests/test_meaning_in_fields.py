"""Meaning lives in fields, words are for people: rewording what the ledger says to people
changes nothing that settling, syncing or the per-team commands decide."""

import io

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from sharing import tasks
from sharing.cloud import images
from sharing.models import AccessRequest, Action, Drift, LedgerEntry, Outcome, Team
from sharing.services import ledger_attempt, sync

from .conftest import GLOBEX, INITECH, acme_image
from .test_settle import crashed_attempt, entry_of, revoke, share
from .test_settle import sync as run_sync


@pytest.fixture
def image_id(cloud):
    return acme_image(cloud)


@pytest.mark.parametrize("reworded", [False, True])
def test_a_revoke_the_client_inferred_is_no_answer_to_settle_by_however_it_is_worded(
    client, alice, team, cloud, image_id, monkeypatch, reworded
):
    if reworded:
        monkeypatch.setattr(images, "EARLIER_TRY_APPLIED", "Removed by our first try.")
    crashed = crashed_attempt(team, Action.SHARE, image_id, ago=120)
    cloud.add_member(image_id, GLOBEX)  # what the crashed share's POST did
    cloud.add_fault("error", route="member_delete", status=503, after=True, times=1)
    client.force_login(alice)
    revoke(client, image_id, GLOBEX)  # its retry meets 404: the first try removed it
    later = entry_of(Action.REVOKE)
    assert (later.outcome, later.http_status, later.inferred) == (Outcome.SUCCEEDED, 404, True)
    assert (later.message == "Removed by our first try.") is reworded

    run_sync()

    crashed.refresh_from_db()
    # The retry's 404 says nothing of the member before the revoke: the evidence cannot tell.
    assert crashed.outcome == Outcome.UNKNOWN
    assert crashed.settlement == (
        f"The cloud cannot tell: entry #{later.pk} changed this member again before its "
        "state was known."
    )


@pytest.mark.parametrize("reworded", [False, True])
def test_a_member_a_sync_found_gone_is_gone_however_the_drift_is_worded(
    client, alice, team, cloud, image_id, monkeypatch, reworded
):
    if reworded:
        monkeypatch.setitem(sync.DRIFT_WORDS, Drift.GONE, "Gone from the cloud.")
    client.force_login(alice)
    share(client, image_id, GLOBEX)
    cloud.delete_member(cloud.member(image_id, GLOBEX))  # removed outside the dashboard
    run_sync()
    drift = entry_of(Action.DRIFT)
    assert drift.drift == Drift.GONE
    assert drift.message.startswith("Gone from the cloud." if reworded else "No longer")
    crashed = crashed_attempt(team, Action.SHARE, image_id)
    cloud.add_member(image_id, GLOBEX)  # what its POST did

    run_sync()

    crashed.refresh_from_db()
    assert (crashed.outcome, crashed.settlement) == (
        Outcome.SUCCEEDED,
        f"Settled from evidence: {GLOBEX} was not a member after entry #{drift.pk}; a member now.",
    )


def test_a_status_drift_keeps_its_kind_and_names_the_new_status(client, alice, cloud, image_id):
    client.force_login(alice)
    share(client, image_id, GLOBEX)
    cloud.set_member_status(cloud.member(image_id, GLOBEX), "accepted")
    run_sync()
    drift = entry_of(Action.DRIFT)
    assert (drift.drift, drift.message) == (Drift.STATUS, "The tenant set its status to accepted.")


def test_a_team_that_fails_fails_the_command_however_its_line_is_worded(db, team, monkeypatch):
    monkeypatch.setattr(tasks, "FAILED_LINE", "could not finish ({kind})")
    broken = Team.objects.create(
        name="Aardvark", slug="aardvark", identity_url=f"{settings.FAKE_CLOUD_URL}/identity"
    )
    Team.objects.filter(pk=broken.pk).update(secret_encrypted="not a token")  # key lost
    broken.refresh_from_db()
    ledger_attempt(team=broken, actor=None, action="share", tenant=GLOBEX, image_id="img-1")
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="Reconciling failed for aardvark"):
        call_command("sync_shares", "--settle-after", "0", stdout=out, stderr=err)
    assert "aardvark: could not finish (" in err.getvalue()
    assert "aardvark" not in out.getvalue()


# Entries written before the fields existed gain them from their words.

BEFORE = ("sharing", "0009_team_time_zone_and_last_sync")


def _migrate(target: list[tuple[str, str]]):
    executor = MigrationExecutor(connection)
    executor.migrate(target)
    executor.loader.build_graph()
    return executor.loader.project_state(target).apps


@pytest.mark.django_db(transaction=True)
def test_entries_and_requests_from_before_the_fields_gain_them_from_their_words():
    old = _migrate([BEFORE])
    team = old.get_model("sharing", "Team").objects.create(name="Acme", slug="acme")
    entries = old.get_model("sharing", "LedgerEntry").objects
    now = timezone.now()

    def entry(action: str, outcome: str | None, message: str = "", **more):
        return entries.create(
            team=team, actor_name="alice", action=action, region="IAD", image_id="img",
            tenant=GLOBEX, outcome=outcome, message=message, completed_at=now, **more,
        )  # fmt: skip

    gone = entry(
        "drift", "succeeded", "No longer a member upstream: removed outside the dashboard."
    )
    added = entry("drift", "succeeded", "A member added outside the dashboard.")
    status = entry("drift", "succeeded", "The tenant set its status to accepted.")
    earlier = entry("revoke", "succeeded", "An earlier try was applied: the member is gone.")
    checked = entry("revoke", "succeeded", "Checked after the answer was lost: it is gone.")
    read = entry("share", "succeeded", http_status=503)
    answered = entry("share", "succeeded", http_status=201)
    requests = old.get_model("sharing", "AccessRequest").objects
    stopped = requests.create(
        team=team, region="IAD", image_id="img", tenant=INITECH, justification="x",
        requester_name="carol", status="approved", decided_at=now, status_token="a",
    )  # fmt: skip
    entries.create(
        team=team, actor_name="alice", action="approve", region="IAD", image_id="img",
        tenant=INITECH, outcome="succeeded", completed_at=now, access_request=stopped,
    )  # fmt: skip
    done = requests.create(
        team=team, region="IAD", image_id="img", tenant=INITECH, justification="y",
        requester_name="carol", status="approved", decided_at=now, status_token="b",
    )  # fmt: skip
    entries.create(
        team=team, actor_name="alice", action="share", region="IAD", image_id="img",
        tenant=INITECH, outcome="succeeded", http_status=201, completed_at=now,
        access_request=done,
    )  # fmt: skip

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    def of(pk: int) -> LedgerEntry:
        return LedgerEntry.objects.get(pk=pk)

    kinds = [of(e.pk).drift for e in (gone, added, status)]
    assert kinds == [Drift.GONE, Drift.ADDED, Drift.STATUS]
    assert [of(e.pk).inferred for e in (earlier, checked, read, answered)] == [
        True, True, True, False,
    ]  # fmt: skip
    assert AccessRequest.objects.get(pk=stopped.pk).sharing_since == now
    assert AccessRequest.objects.get(pk=done.pk).sharing_since is None
