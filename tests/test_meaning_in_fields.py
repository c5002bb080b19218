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
from sharing.models import AccessRequest, Action, Basis, Drift, LedgerEntry, Outcome, Team
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
    assert (later.outcome, later.http_status, later.basis) == (
        Outcome.SUCCEEDED, 404, Basis.INFERRED,
    )  # fmt: skip
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


WORDED = [
    ("drift", "No longer a member upstream: removed outside the dashboard.", None),
    ("drift", "A member added outside the dashboard.", None),
    ("drift", "The tenant set its status to accepted.", None),
    ("revoke", "An earlier try was applied: the member is gone.", 204),
    ("revoke", "Checked after the answer was lost: it is gone.", None),
    ("share", "", 503),  # a create answered 503 that had been applied: read, not answered
    ("share", "", 201),
]


class OldRows:
    """Rows as the app wrote them before migration 0010, through that state's models."""

    def __init__(self, apps) -> None:
        self.team = apps.get_model("sharing", "Team").objects.create(name="Acme", slug="acme")
        self.entries = apps.get_model("sharing", "LedgerEntry").objects
        self.requests = apps.get_model("sharing", "AccessRequest").objects
        self.now = timezone.now()

    def entry(self, action: str, message: str = "", http_status=None, **more):
        return self.entries.create(
            team=self.team, actor_name="alice", action=action, region="IAD", image_id="img",
            tenant=GLOBEX, outcome="succeeded", message=message, http_status=http_status,
            completed_at=self.now, **more,
        )  # fmt: skip

    def approved(self, then: str, **more) -> int:
        """An approved request whose last entry is `then`: its approval, or its share."""
        found = self.requests.create(
            team=self.team, region="IAD", image_id="img", tenant=INITECH, justification="x",
            requester_name="carol", status="approved", decided_at=self.now,
            status_token=then,
        )  # fmt: skip
        self.entry(then, access_request=found, **more)
        return found.pk


@pytest.mark.django_db(transaction=True)
def test_entries_and_requests_from_before_the_fields_gain_them_from_their_words():
    old = OldRows(_migrate([BEFORE]))
    worded = [old.entry(action, message, status).pk for action, message, status in WORDED]
    stopped = old.approved("approve")  # its process died before the share's attempt
    done = old.approved("share", http_status=201)

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    found = LedgerEntry.objects.in_bulk(worded)
    assert [found[pk].drift for pk in worded] == [
        Drift.GONE, Drift.ADDED, Drift.STATUS, "", "", "", "",
    ]  # fmt: skip
    assert [found[pk].basis for pk in worded] == ["", "", "", *[Basis.INFERRED] * 3, ""]
    assert AccessRequest.objects.get(pk=stopped).sharing_since == old.now
    assert AccessRequest.objects.get(pk=done).sharing_since is None
