"""Reminders of shares about to end: sent once, by one worker, and sent again when the e-mail
could not go out."""

import smtplib
import threading
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.locmem import EmailBackend as MemoryBackend
from django.db import connection, connections
from django.utils import timezone

from sharing import services
from sharing.models import Share, Team
from sharing.services.upkeep import REMINDER_CLAIM_EXPIRES

from .conftest import GLOBEX, INITECH


class FailingBackend(BaseEmailBackend):
    """A mail server that drops the connection."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


class SlowBackend(MemoryBackend):
    """A mail server that takes a moment, so a second worker runs while the first sends."""

    def send_messages(self, messages):
        time.sleep(0.3)
        return super().send_messages(messages)


def mailer(backend: type) -> dict:
    return {"default": {"BACKEND": f"{backend.__module__}.{backend.__qualname__}"}}


def ending_soon(team: Team, tenant: str = GLOBEX, days: int = 2) -> Share:
    now = timezone.now()
    return Share.objects.create(
        team=team, region="IAD", image_id="img-1", tenant=tenant, shared_at=now,
        expires_at=now + timedelta(days=days),
    )  # fmt: skip


@pytest.fixture
def share(team, alice) -> Share:
    return ending_soon(team)


def test_a_reminder_that_could_not_be_sent_is_sent_by_the_next_run(team, share, settings):
    settings.MAILERS = mailer(FailingBackend)
    assert services.shares_remind(team=team) == 0
    share.refresh_from_db()
    assert (share.reminded_at, share.reminder_claimed_at) == (None, None)

    settings.MAILERS = mailer(MemoryBackend)
    assert services.shares_remind(team=team) == 1
    assert len(mail.outbox) == 1
    assert GLOBEX in mail.outbox[0].body
    share.refresh_from_db()
    assert share.reminded_at is not None
    assert services.shares_remind(team=team) == 0  # once sent, never again
    assert len(mail.outbox) == 1


def test_the_run_line_counts_only_reminders_that_went_out(team, share, settings):
    settings.MAILERS = mailer(FailingBackend)
    assert "0 reminder(s)" in services.team_time_limits(team=team)
    settings.MAILERS = mailer(MemoryBackend)
    assert "1 reminder(s)" in services.team_time_limits(team=team)


def test_a_share_another_worker_is_reminding_of_is_left_to_it(team, share):
    Share.objects.filter(pk=share.pk).update(
        reminder_claimed_at=timezone.now() - timedelta(minutes=1)
    )
    assert services.shares_remind(team=team) == 0
    assert mail.outbox == []


def test_a_claim_left_by_a_worker_that_died_expires_and_the_reminder_is_sent(team, share):
    stale = timezone.now() - REMINDER_CLAIM_EXPIRES - timedelta(seconds=1)
    Share.objects.filter(pk=share.pk).update(reminder_claimed_at=stale)
    assert services.shares_remind(team=team) == 1
    assert len(mail.outbox) == 1
    share.refresh_from_db()
    assert share.reminded_at is not None and share.reminder_claimed_at is None


def test_one_e_mail_names_every_share_due_and_none_outside_the_window(team, share):
    ending_soon(team, tenant=INITECH, days=team.reminder_days + 5)
    assert services.shares_remind(team=team) == 1
    [sent] = mail.outbox
    assert GLOBEX in sent.body and INITECH not in sent.body


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="concurrent workers need a server database (SQLite serialises writers)",
)
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_exactly_one_reminder(team, alice, settings):
    share = ending_soon(team)
    settings.MAILERS = mailer(SlowBackend)
    start = threading.Barrier(2)
    counts = []

    def worker():
        try:
            start.wait()
            counts.append(services.shares_remind(team=Team.objects.get(pk=team.pk)))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(mail.outbox) == 1
    assert sorted(counts) == [0, 1]
    share.refresh_from_db()
    assert share.reminded_at is not None and share.reminder_claimed_at is None
