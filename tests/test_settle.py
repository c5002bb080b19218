"""The ledger tells the truth when the cloud misbehaves: each cause of a wrong or unresolved
outcome, through the real client against the built-in cloud, then settled from evidence."""

import io
import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.utils import timezone

from builtin_cloud import FakeCloudApp, FakeTimeout
from sharing import clouds, selectors, services
from sharing.clouds import client_for
from sharing.models import Action, LedgerEntry, Outcome, Share

from .conftest import ACME, GLOBEX, INITECH, acme_image


def share(client, image_id, members):
    return client.post(
        f"/t/acme/images/{image_id}/share/?region=IAD", {"members": members}, follow=True
    )


def revoke(client, image_id, member):
    return client.post(
        f"/t/acme/images/{image_id}/members/{member}/revoke/?region=IAD", follow=True
    )


def messages_of(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def sync() -> str:
    out = io.StringIO()
    call_command("sync_shares", "--settle-after", "0", stdout=out)
    return out.getvalue()


def entry_of(action, tenant=GLOBEX) -> LedgerEntry:
    return LedgerEntry.objects.get(action=action, tenant=tenant)


def crashed_attempt(team, action, image_id, tenant=GLOBEX, ago=0) -> LedgerEntry:
    """What a process killed between attempt and outcome leaves: an entry without one."""
    return LedgerEntry.objects.create(
        team=team, actor_name="alice", action=action, region="IAD", image_id=image_id,
        tenant=tenant, created_at=timezone.now() - timedelta(seconds=ago),
    )  # fmt: skip


def age_member(cloud, image_id, tenant=GLOBEX, seconds=60) -> None:
    """Make the member's timestamps older: Glance's have whole seconds, so evidence from
    them needs the changes a second apart, which a test does not wait for."""
    with cloud.transaction() as db:
        for column in ("created_at", "updated_at"):
            db.execute(
                f"UPDATE members SET {column} = strftime('%Y-%m-%dT%H:%M:%SZ', {column}, ?) "
                "WHERE image_id = ? AND member_id = ?",
                (f"-{seconds} seconds", image_id, tenant),
            )


def active_share(image_id, tenant=GLOBEX) -> Share | None:
    return Share.objects.filter(image_id=image_id, tenant=tenant, revoked_at=None).first()


def member_rows(team, cloud, image_id) -> dict:
    client = client_for(team, "IAD")
    image = client.get_image(image_id)
    rows, _ = selectors.image_members(client=client, team=team, region="IAD", image=image)
    return {row.tenant: row for row in rows}


@pytest.fixture
def image_id(cloud):
    return acme_image(cloud)


@pytest.fixture
def shared(client, alice, cloud, image_id):
    """globex is a member, shared from the dashboard."""
    client.force_login(alice)
    share(client, image_id, GLOBEX)
    assert active_share(image_id)
    return image_id


# 1. A create that Glance applied but answered 5xx


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_create_applied_then_answered_5xx_is_recorded_as_shared(
    client, alice, cloud, image_id, status
):
    cloud.add_fault("error", route="member_create", status=status, after=True, times=1)
    client.force_login(alice)
    response = share(client, image_id, GLOBEX)
    entry = entry_of(Action.SHARE)
    assert (entry.outcome, entry.http_status) == (Outcome.SUCCEEDED, status)
    assert active_share(image_id).status == "pending"
    assert f"Shared with {GLOBEX}" in messages_of(response)
    assert "try again" not in messages_of(response)


def test_a_create_refused_with_5xx_is_not_shared_and_the_user_may_try_again(
    client, alice, cloud, image_id
):
    cloud.add_fault("error", route="member_create", status=503, times=1)
    client.force_login(alice)
    response = share(client, image_id, GLOBEX)
    assert entry_of(Action.SHARE).outcome == Outcome.FAILED
    assert f"Not shared with {GLOBEX}" in messages_of(response)
    assert "try again" in messages_of(response)
    assert active_share(image_id) is None


# 2. A delete that was applied but never answered


@pytest.mark.parametrize("kind", ["timeout", "reset"])
def test_a_delete_applied_and_never_answered_is_a_revoke_and_closes_the_record(
    client, shared, cloud, kind
):
    cloud.add_fault(kind, route="member_delete", after=True)  # every try: no answer
    response = revoke(client, shared, GLOBEX)
    entry = entry_of(Action.REVOKE)
    assert entry.outcome == Outcome.SUCCEEDED
    assert "it is gone" in entry.message
    assert f"Revoked: {GLOBEX}" in messages_of(response)
    assert active_share(shared) is None
    assert cloud.member_status(shared, GLOBEX) is None
    # The next sync finds nothing removed outside the dashboard.
    sync()
    assert not LedgerEntry.objects.filter(action=Action.DRIFT).exists()


def test_a_delete_never_applied_nor_answered_is_unknown_and_keeps_the_record(client, shared, cloud):
    age_member(cloud, shared)
    cloud.add_fault("timeout", route="member_delete")  # every try: no answer, no change
    response = revoke(client, shared, GLOBEX)
    assert entry_of(Action.REVOKE).outcome == Outcome.UNKNOWN
    assert "could not be confirmed yet" in messages_of(response)
    assert active_share(shared)
    cloud.clear_faults()
    sync()
    entry = entry_of(Action.REVOKE)
    assert entry.outcome == Outcome.FAILED
    assert f"{GLOBEX} was still a member now" in entry.settlement
    assert active_share(shared)


def test_a_revoke_that_may_land_after_a_later_share_saw_the_member_stays_unknown(
    client, shared, cloud
):
    # The DELETE is held back past the client's patience; a colleague's share then finds the
    # member there (409); only then does the DELETE land. The share's answer says nothing of
    # the revoke, so the evidence cannot tell, and the entry says so instead of "failed".
    cloud.add_fault("late", route="member_delete", seconds=60)
    response = revoke(client, shared, GLOBEX)
    assert "could not be confirmed yet" in messages_of(response)
    cloud.clear_faults()
    response = share(client, shared, GLOBEX)
    assert "Already shared" in messages_of(response)
    cloud.apply_late()
    assert cloud.member_status(shared, GLOBEX) is None
    sync()
    entry = entry_of(Action.REVOKE)
    assert entry.outcome == Outcome.UNKNOWN
    assert "may still have reached the cloud after entry" in entry.settlement
    assert not active_share(shared)  # the records follow the cloud all the same


# 3. A retried delete that meets a 404 because its own first try was applied


@pytest.mark.parametrize("kind", ["error", "timeout", "reset"])
def test_a_retried_delete_meeting_404_after_its_first_try_applied_is_a_revoke(
    client, shared, cloud, kind
):
    cloud.add_fault(kind, route="member_delete", after=True, times=1)
    response = revoke(client, shared, GLOBEX)
    entry = entry_of(Action.REVOKE)
    assert (entry.outcome, entry.http_status) == (Outcome.SUCCEEDED, 404)
    assert entry.message == "An earlier try was applied: the member is gone."
    assert f"Revoked: {GLOBEX}" in messages_of(response)
    assert active_share(shared) is None


def test_a_delete_meeting_404_at_its_first_try_was_not_a_member(client, alice, cloud, image_id):
    client.force_login(alice)
    response = revoke(client, image_id, GLOBEX)
    assert entry_of(Action.REVOKE).outcome == Outcome.FAILED
    assert "was not a member of this image any more" in messages_of(response)


# 4. A slow create that lands after the check said 404


def test_a_create_landing_after_the_check_is_unknown_then_settled_as_shared(
    client, alice, team, cloud, image_id
):
    cloud.add_fault("late", route="member_create", seconds=60, times=1)
    client.force_login(alice)
    response = share(client, image_id, GLOBEX)
    entry = entry_of(Action.SHARE)
    assert entry.outcome == Outcome.UNKNOWN and entry.settled_at is None
    text = messages_of(response)
    assert f"Sharing with {GLOBEX} could not be confirmed yet" in text
    assert "try again" not in text
    assert active_share(image_id) is None
    # Shown as unconfirmed, before the create lands and after.
    assert member_rows(team, cloud, image_id)[GLOBEX].unconfirmed
    assert cloud.apply_late() == 1
    row = member_rows(team, cloud, image_id)[GLOBEX]
    assert (row.unconfirmed, row.outside) == (True, False)

    report = sync()

    entry.refresh_from_db()
    assert (entry.outcome, entry.message) == (Outcome.SUCCEEDED, text_of(entry))
    assert entry.settled_at is not None
    assert f"{GLOBEX} was " in entry.settlement and "a member now" in entry.settlement
    assert active_share(image_id).status == "pending"
    assert not LedgerEntry.objects.filter(action=Action.DRIFT).exists()  # not "added outside"
    assert "settled 1 succeeded; records 1 recorded" in report
    row = member_rows(team, cloud, image_id)[GLOBEX]
    assert (row.unconfirmed, row.outside, row.share is not None) == (False, False, True)


def test_a_sync_before_the_settle_delay_records_an_unconfirmed_share_as_ours(
    client, alice, cloud, image_id
):
    cloud.add_fault("late", route="member_create", seconds=60, times=1)
    client.force_login(alice)
    share(client, image_id, GLOBEX)
    cloud.apply_late()
    out = io.StringIO()
    call_command("sync_shares", stdout=out)  # the default delay: the entry is too fresh
    assert "settled nothing to do; records 1 recorded" in out.getvalue()
    assert entry_of(Action.SHARE).outcome == Outcome.UNKNOWN
    assert active_share(image_id)
    assert not LedgerEntry.objects.filter(action=Action.DRIFT).exists()


def test_a_sync_before_the_settle_delay_closes_the_record_of_an_unconfirmed_revoke(
    client, shared, cloud
):
    age_member(cloud, shared)
    cloud.add_fault("timeout", route="member_delete")  # never answered...
    revoke(client, shared, GLOBEX)
    assert entry_of(Action.REVOKE).outcome == Outcome.UNKNOWN
    cloud.clear_faults()
    cloud.delete_member(cloud.member(shared, GLOBEX))  # ...and applied after the check
    out = io.StringIO()
    call_command("sync_shares", stdout=out)
    assert "records 1 closed" in out.getvalue()
    assert active_share(shared) is None
    assert not LedgerEntry.objects.filter(action=Action.DRIFT).exists()
    sync()
    assert entry_of(Action.REVOKE).outcome == Outcome.SUCCEEDED


def text_of(entry: LedgerEntry) -> str:
    """The message kept from the time of the attempt: settling never rewrites it."""
    return LedgerEntry.objects.get(pk=entry.pk).message


def test_a_create_that_never_lands_is_unknown_then_settled_as_not_shared(
    client, alice, cloud, image_id
):
    cloud.add_fault("timeout", route="member_create", times=1)  # sent; never applied
    client.force_login(alice)
    share(client, image_id, GLOBEX)
    assert entry_of(Action.SHARE).outcome == Outcome.UNKNOWN
    sync()
    entry = entry_of(Action.SHARE)
    assert entry.outcome == Outcome.FAILED
    assert f"{GLOBEX} was not a member now" in entry.settlement
    assert active_share(image_id) is None


# 5. Settling a crashed attempt by evidence tied to it, not by today's state


def test_a_crashed_share_that_never_reached_the_cloud_fails_though_a_later_share_added_it(
    client, alice, team, cloud, image_id
):
    crashed = crashed_attempt(team, Action.SHARE, image_id)
    client.force_login(alice)
    share(client, image_id, GLOBEX)  # answered 200: the member was absent before it
    later = LedgerEntry.objects.filter(action=Action.SHARE).exclude(pk=crashed.pk).get()
    assert later.outcome == Outcome.SUCCEEDED

    sync()

    crashed.refresh_from_db()
    assert crashed.outcome == Outcome.FAILED
    assert crashed.settlement == (
        f"Settled from evidence: {GLOBEX} was not a member before entry #{later.pk}."
    )
    assert cloud.member_status(image_id, GLOBEX) == "pending"
    assert active_share(image_id)


def test_a_crashed_revoke_that_happened_succeeds_though_a_re_share_added_it_again(
    client, shared, team, cloud
):
    crashed = crashed_attempt(team, Action.REVOKE, shared)
    cloud.delete_member(cloud.member(shared, GLOBEX))  # its DELETE reached the cloud
    share(client, shared, GLOBEX)  # the re-share is answered 200: it was gone
    sync()
    crashed.refresh_from_db()
    assert crashed.outcome == Outcome.SUCCEEDED
    assert crashed.settlement.startswith(f"Settled from evidence: {GLOBEX} was a member after ")
    assert cloud.member_status(shared, GLOBEX) == "pending"
    assert active_share(shared)


def test_a_crashed_share_the_evidence_cannot_judge_is_settled_unknown_with_the_reason(
    client, alice, team, cloud, image_id
):
    cloud.add_member(image_id, GLOBEX)  # shared outside the dashboard
    crashed = crashed_attempt(team, Action.SHARE, image_id)
    cloud.add_fault("timeout", route="member_delete")  # a revoke that is never answered
    client.force_login(alice)
    revoke(client, image_id, GLOBEX)
    cloud.clear_faults()
    cloud.delete_member(cloud.member(image_id, GLOBEX))  # ...and lands after its check

    sync()

    crashed.refresh_from_db()
    assert crashed.outcome == Outcome.UNKNOWN and crashed.settled_at is not None
    later = entry_of(Action.REVOKE)
    assert crashed.settlement == (
        f"The cloud cannot tell: entry #{later.pk} changed this member again before its "
        "state was known."
    )
    assert later.outcome == Outcome.SUCCEEDED  # gone now, and nothing came after it


def test_a_crashed_share_of_a_member_created_after_it_began_succeeded(team, cloud, image_id):
    crashed = crashed_attempt(team, Action.SHARE, image_id, ago=60)
    cloud.add_member(image_id, GLOBEX)  # what its POST did
    sync()
    crashed.refresh_from_db()
    assert crashed.outcome == Outcome.SUCCEEDED
    assert "created after it began" in crashed.settlement
    assert active_share(image_id)
    assert not LedgerEntry.objects.filter(action=Action.DRIFT).exists()


def test_an_unknown_share_overtaken_by_a_later_action_before_its_answer_stays_unknown(
    team, cloud, image_id
):
    # Two people at once: the later share began while this one waited for its answer, so its
    # request may have reached the cloud after the later one did.
    now = timezone.now()
    unsure = LedgerEntry.objects.create(
        team=team, actor_name="alice", action=Action.SHARE, region="IAD", image_id=image_id,
        tenant=GLOBEX, created_at=now - timedelta(seconds=30), outcome=Outcome.UNKNOWN,
        completed_at=now - timedelta(seconds=20),
    )  # fmt: skip
    later = LedgerEntry.objects.create(
        team=team, actor_name="erin", action=Action.SHARE, region="IAD", image_id=image_id,
        tenant=GLOBEX, created_at=now - timedelta(seconds=25), outcome=Outcome.SUCCEEDED,
        http_status=200, completed_at=now - timedelta(seconds=24),
    )  # fmt: skip
    cloud.add_member(image_id, GLOBEX)
    sync()
    unsure.refresh_from_db()
    assert unsure.outcome == Outcome.UNKNOWN
    assert unsure.settlement == (
        f"The cloud cannot tell: entry #{later.pk} began before this attempt was answered."
    )


def test_a_crashed_revoke_while_another_revoke_waited_for_its_answer_stays_unknown(
    client, shared, team, cloud
):
    # Two people at once: erin's revoke began first and was answered after this one crashed;
    # the member being gone may be erin's doing alone.
    now = timezone.now()
    running = LedgerEntry.objects.create(
        team=team, actor_name="erin", action=Action.REVOKE, region="IAD", image_id=shared,
        tenant=GLOBEX, created_at=now - timedelta(seconds=1), outcome=Outcome.SUCCEEDED,
        http_status=204, completed_at=now + timedelta(seconds=1),
    )  # fmt: skip
    crashed = crashed_attempt(team, Action.REVOKE, shared)
    cloud.delete_member(cloud.member(shared, GLOBEX))
    sync()
    crashed.refresh_from_db()
    assert crashed.outcome == Outcome.UNKNOWN
    assert crashed.settlement == (
        f"The cloud cannot tell: entry #{running.pk} was still waiting for its answer when "
        "this attempt began, and may have made that change."
    )


def test_settling_leaves_the_message_the_user_was_given(client, alice, cloud, image_id):
    cloud.add_fault("late", route="member_create", seconds=60, times=1)
    client.force_login(alice)
    share(client, image_id, GLOBEX)
    told = entry_of(Action.SHARE).message
    cloud.apply_late()
    sync()
    entry = entry_of(Action.SHARE)
    assert entry.message == told and entry.settlement != told


# 6. Unknown entries are resolved by the sync, on images with no active share


def test_unknown_entries_are_settled_on_an_image_without_any_active_share(
    client, alice, cloud, image_id
):
    cloud.add_fault("timeout", route="member_create", after=True, times=1)
    cloud.add_fault("error", route="member_get", status=503)  # the check cannot tell
    client.force_login(alice)
    share(client, image_id, [GLOBEX])
    cloud.add_fault("timeout", route="member_create", times=1)
    share(client, image_id, [INITECH])
    assert set(LedgerEntry.objects.values_list("outcome", flat=True)) == {Outcome.UNKNOWN}
    assert not Share.objects.exists()
    cloud.clear_faults()

    report = sync()

    assert entry_of(Action.SHARE, GLOBEX).outcome == Outcome.SUCCEEDED
    assert entry_of(Action.SHARE, INITECH).outcome == Outcome.FAILED
    assert report == "acme: settled 1 failed, 1 succeeded; records 1 recorded\n"
    assert active_share(image_id, GLOBEX) and not active_share(image_id, INITECH)
    assert sync() == "acme: settled nothing to do; records nothing to do\n"


def test_an_entry_is_settled_once_even_when_asked_again(client, alice, team, cloud, image_id):
    cloud.add_fault("timeout", route="member_create", times=1)
    client.force_login(alice)
    share(client, image_id, GLOBEX)
    entry = entry_of(Action.SHARE)
    assert entry.settle(Outcome.FAILED, "first")
    assert not entry.settle(Outcome.SUCCEEDED, "second")
    entry.refresh_from_db()
    assert (entry.outcome, entry.settlement) == (Outcome.FAILED, "first")


def test_a_fresh_unknown_entry_waits_for_the_settle_delay(client, alice, cloud, image_id):
    cloud.add_fault("timeout", route="member_create", times=1)
    client.force_login(alice)
    share(client, image_id, GLOBEX)
    out = io.StringIO()
    call_command("sync_shares", stdout=out)  # the default delay: five minutes
    assert entry_of(Action.SHARE).settled_at is None
    assert "settled nothing to do" in out.getvalue()


# Two workers settling at once (PostgreSQL: real row-level concurrency)


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="concurrent settling needs a server database (SQLite serialises writers)",
)
@pytest.mark.django_db(transaction=True)
def test_two_workers_settling_at_once_settle_each_entry_once(team, cloud):
    image_id = acme_image(cloud)
    tenants = [f"2000{n:02d}" for n in range(1, 9)]
    for tenant in tenants[::2]:
        cloud.add_member(image_id, tenant)  # their crashed shares reached the cloud
    crashed = [crashed_attempt(team, Action.SHARE, image_id, t, ago=60) for t in tenants]
    cloud.add_fault("latency", route="member_get", seconds=0.05)  # the workers overlap
    start = threading.Barrier(2)
    counts = []

    def worker():
        try:
            start.wait()
            counts.append(services.attempts_settle(team=team, older_than=timedelta(0)))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(sum(c.values()) for c in counts) == len(tenants)  # each counted by one worker
    settled = LedgerEntry.objects.filter(pk__in=[e.pk for e in crashed])
    assert sorted(settled.values_list("tenant", "outcome")) == sorted(
        (t, Outcome.SUCCEEDED if i % 2 == 0 else Outcome.FAILED) for i, t in enumerate(tenants)
    )
    assert all(e.settled_at for e in settled)


# 7. Settling details


@pytest.mark.parametrize("elsewhere", [{"region": "DFW"}, {"tenant": INITECH}])
def test_a_decision_on_another_region_or_tenant_does_not_blur_a_status_settlement(
    team, cloud, elsewhere
):
    incoming = cloud.create_image(owner=GLOBEX, region="IAD", name="globex-base")["id"]
    cloud.add_member(incoming, ACME)  # pending: the accept never reached the cloud
    crashed = crashed_attempt(team, Action.ACCEPT, incoming, tenant=ACME, ago=60)
    LedgerEntry.objects.create(
        team=team, actor_name="alice", action=Action.REJECT, image_id=incoming,
        **{"region": "IAD", "tenant": ACME, **elsewhere},
        outcome=Outcome.SUCCEEDED, completed_at=timezone.now(),
    )  # fmt: skip
    sync()
    crashed.refresh_from_db()
    assert (crashed.outcome, crashed.settlement) == (
        Outcome.FAILED,
        "Settled from evidence: the status is pending, not accepted.",
    )


class SettledWhileAnswering:
    """The built-in cloud applies the create; before its answer a worker settles the open
    entry; then the answer is lost and the client's check cannot read the member."""

    def __init__(self, app: FakeCloudApp, team) -> None:
        self.app, self.team, self.base_url, self.done = app, team, app.base_url, False

    def __call__(self, environ, start_response):
        body = self.app(environ, start_response)
        create = environ["REQUEST_METHOD"] == "POST" and environ["PATH_INFO"].endswith("/members")
        if create and not self.done:
            self.done = True
            services.attempts_settle(team=self.team, older_than=timedelta(0))
            self.app.state.add_fault("error", route="member_get", status=503)
            raise FakeTimeout()
        return body


@pytest.mark.django_db(transaction=True)
def test_a_share_settled_before_its_own_answer_reports_the_settled_truth(
    client, alice, team, cloud, settings
):
    image_id = acme_image(cloud)
    clouds.use_builtin_cloud(
        SettledWhileAnswering(FakeCloudApp(cloud, settings.FAKE_CLOUD_URL), team)
    )
    client.force_login(alice)
    response = share(client, image_id, GLOBEX)
    entry = entry_of(Action.SHARE)
    assert (entry.outcome, entry.settlement) == (
        Outcome.SUCCEEDED, f"Settled from evidence: {GLOBEX} was a member now.",
    )  # fmt: skip
    assert entry.message == ""  # the late answer changed nothing
    assert f"Already shared with {GLOBEX} (pending)" in messages_of(response)
    assert "Not shared" not in messages_of(response)
    assert active_share(image_id).status == "pending"
