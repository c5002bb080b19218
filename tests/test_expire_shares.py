"""Time limits: shares end by themselves, stale requests expire, admins are reminded."""

import io
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from sharing import services
from sharing.models import AccessRequest, Action, LedgerEntry, Outcome, RequestStatus, Share
from sharing.tasks import enforce_time_limits, schedule_next

from .conftest import GLOBEX, INITECH, acme_image


def share_until(client, image_id, tenant, days):
    end = timezone.localdate() + timedelta(days=days)
    client.post(f"/t/acme/images/{image_id}/share/", {"members": tenant, "expires_at": end})
    return Share.objects.get(image_id=image_id, tenant=tenant)


def expire_shares() -> str:
    out = io.StringIO()
    call_command("expire_shares", stdout=out)
    return out.getvalue()


@pytest.fixture
def image_id(client, alice, cloud):
    client.force_login(alice)
    return acme_image(cloud)


def test_a_share_past_its_end_is_revoked_upstream_by_the_system(client, cloud, image_id):
    share = share_until(client, image_id, GLOBEX, days=7)
    Share.objects.filter(pk=share.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert "1 share(s) revoked" in expire_shares()
    assert cloud.member_status(image_id, GLOBEX) is None
    share.refresh_from_db()
    assert share.revoked_at is not None
    entry = LedgerEntry.objects.get(action=Action.EXPIRE)
    assert (entry.actor, entry.actor_name, entry.outcome) == (None, "system", Outcome.SUCCEEDED)
    assert "ended on" in entry.note


def test_a_share_not_yet_ended_stays(client, cloud, image_id):
    share_until(client, image_id, GLOBEX, days=7)
    expire_shares()
    assert cloud.member_status(image_id, GLOBEX) == "pending"


def test_a_failed_expiry_stays_active_and_is_retried(client, cloud, image_id):
    share = share_until(client, image_id, GLOBEX, days=7)
    Share.objects.filter(pk=share.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    cloud.add_fault("error", route="member_delete", status=503)
    assert "1 revoke(s) failed" in expire_shares()
    assert cloud.member_status(image_id, GLOBEX) == "pending"
    cloud.clear_faults()
    expire_shares()
    assert cloud.member_status(image_id, GLOBEX) is None


def test_admins_are_reminded_once_before_a_share_ends(client, cloud, image_id):
    share_until(client, image_id, GLOBEX, days=2)
    share_until(client, image_id, INITECH, days=30)
    mail.outbox.clear()
    expire_shares()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["alice@example.com"]
    assert GLOBEX in mail.outbox[0].body and INITECH not in mail.outbox[0].body
    expire_shares()
    assert len(mail.outbox) == 1


def test_a_pending_request_expires_after_the_teams_limit(client, bob, cloud, image_id, team):
    client.force_login(bob)
    client.post(
        "/t/acme/requests/new/",
        {"image_id": image_id, "member": INITECH, "justification": "pilot"},
    )
    found = AccessRequest.objects.get()
    AccessRequest.objects.filter(pk=found.pk).update(
        created_at=timezone.now() - timedelta(days=team.request_expiry_days + 1)
    )
    mail.outbox.clear()
    assert "1 request(s) expired" in expire_shares()
    found.refresh_from_db()
    assert found.status == RequestStatus.EXPIRED
    assert found.entries.filter(action=Action.EXPIRE, actor_name="system").exists()
    assert mail.outbox[0].to == ["bob@example.com"]


def test_the_worker_task_does_the_same(client, cloud, image_id):
    share = share_until(client, image_id, GLOBEX, days=7)
    Share.objects.filter(pk=share.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    result = enforce_time_limits.enqueue()  # the immediate backend of the tests runs it now
    assert "1 share(s) revoked" in result.return_value["acme"]
    assert cloud.member_status(image_id, GLOBEX) is None


def test_the_periodic_task_is_scheduled_once_on_the_database_backend(db, settings):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    assert schedule_next() is True
    assert schedule_next() is False  # already waiting: a second deploy adds no second chain
    waiting = DBTaskResult.objects.get()
    assert waiting.task_path == "sharing.tasks.enforce_time_limits"
    assert waiting.run_after > timezone.now() + timedelta(minutes=59)


def test_the_immediate_backend_does_not_loop(db):
    assert schedule_next() is False


# A share "until" a day ends at the end of that day in the team's time zone, and the expiry's
# ledger note names that day, whatever the server's zone (the tests' is UTC; an east team's
# day ends before UTC's, so its note shows the fault only from a server further east).


@pytest.mark.parametrize(
    ("zone", "server_zone"),
    [
        ("America/Los_Angeles", "UTC"),
        ("Pacific/Auckland", "UTC"),
        ("Asia/Tokyo", "Pacific/Kiritimati"),
    ],
)
def test_a_share_ends_at_the_end_of_its_day_in_the_teams_zone_and_the_note_names_it(
    client, cloud, image_id, team, settings, zone, server_zone
):
    settings.TIME_ZONE = server_zone
    team.time_zone = zone
    team.save()
    day = team.today() + timedelta(days=7)
    client.post(f"/t/acme/images/{image_id}/share/", {"members": GLOBEX, "expires_at": day})
    last_minute = datetime.combine(day, time(23, 59), ZoneInfo(zone))

    assert services.shares_expire(team=team, now=last_minute) == (0, 0)
    assert services.shares_expire(team=team, now=last_minute + timedelta(minutes=2)) == (1, 0)
    assert cloud.member_status(image_id, GLOBEX) is None
    entry = LedgerEntry.objects.get(action=Action.EXPIRE)
    assert entry.note == f"The share ended on {day:%Y-%m-%d}."
