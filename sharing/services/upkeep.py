"""Upkeep: time limits, and the reconciliation that keeps the ledger and our records true to
the cloud (`settling` gives open outcomes their final one, then `sync` follows the members)."""

from collections import Counter
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from sharing import notifications
from sharing.cloud import CloudError, NotFound
from sharing.models import Action, Share, Team

from .access_requests import access_requests_expire, access_requests_settle
from .lines import lines_discover, lines_expire
from .settling import SETTLE_AFTER, attempts_settle
from .shares import share_revoke
from .sync import shares_sync
from .trust import incoming_sync

# How long a worker may take to send a reminder before another may send it instead: far
# longer than an SMTP exchange, far shorter than the hourly run (docs/design.md, "Reminders").
REMINDER_CLAIM_EXPIRES = timedelta(minutes=15)


def shares_expire(*, team: Team, now: datetime | None = None) -> tuple[int, int]:
    """Revoke every share past its end date, with the system as actor.

    Returns (revoked, failed); a failed one stays active and is tried again next run.
    """
    now = now or timezone.now()
    revoked = failed = 0
    for share in Share.objects.filter(team=team, revoked_at=None, expires_at__lte=now):
        try:
            share_revoke(
                team=team,
                actor=None,
                region=share.region,
                image_id=share.image_id,
                tenant=share.tenant,
                # The day that was picked: the team's, like the share's end itself.
                note=f"The share ended on {timezone.localdate(share.expires_at, team.zone)}.",
                action=Action.EXPIRE,
            )
        except NotFound:
            revoked += 1  # already gone upstream; our record is closed
        except CloudError:
            failed += 1  # unknown ones too: the record stays until the next check settles it
        else:
            revoked += 1
    return revoked, failed


def shares_remind(*, team: Team, now: datetime | None = None) -> int:
    """Tell the admins, once, about shares that end within the team's reminder window.

    Each share is claimed with a conditional UPDATE before the e-mail is sent, so two workers
    never both announce it, and marked reminded only once the e-mail went out; a failed send
    releases the claim for the next run. A claim older than `REMINDER_CLAIM_EXPIRES` (its
    worker died) is taken over. Returns how many shares the sent e-mail named.
    """
    now = now or timezone.now()
    claimed = _reminders_claim(team=team, now=now)
    if not claimed:
        return 0
    mine = Share.objects.filter(pk__in=[s.pk for s in claimed], reminder_claimed_at=now)
    if notifications.expiry_reminder(team, claimed):
        mine.update(reminded_at=now, reminder_claimed_at=None)
        return len(claimed)
    mine.update(reminder_claimed_at=None)
    return 0


def _reminders_claim(*, team: Team, now: datetime) -> list[Share]:
    """The shares due a reminder that this run claimed, soonest end first."""
    free = Q(reminder_claimed_at=None) | Q(reminder_claimed_at__lt=now - REMINDER_CLAIM_EXPIRES)
    due = Share.objects.filter(
        free,
        team=team,
        revoked_at=None,
        reminded_at=None,
        expires_at__gt=now,
        expires_at__lte=now + timedelta(days=team.reminder_days),
    )
    claimed = []
    for share in due.order_by("expires_at"):
        # Another worker may have claimed it since the read: only one UPDATE finds it free.
        if due.filter(pk=share.pk).update(reminder_claimed_at=now):
            claimed.append(share)
    return claimed


def team_time_limits(*, team: Team, now: datetime | None = None) -> str:
    """Everything time-limited for one team, in one pass; a line for the operator."""
    now = now or timezone.now()
    revoked, failed = shares_expire(team=team, now=now)
    expired = access_requests_expire(team=team, now=now)
    reminded = shares_remind(team=team, now=now)
    retired, retire_failed = lines_expire(team=team, today=timezone.localdate(now, team.zone))
    line = f"{revoked} share(s) revoked, {expired} request(s) expired, {reminded} reminder(s)"
    line += f", {retired} deprecated version share(s) revoked" if retired else ""
    failed += retire_failed
    return line + (f"; {failed} revoke(s) failed, retried next run" if failed else "")


def team_reconcile(*, team: Team, older_than: timedelta = SETTLE_AFTER) -> str:
    """Settle open outcomes (and the requests whose approval waits for one), then sync records:
    the order matters, since the sync reads the settled outcomes to tell our own changes from
    outside ones. A line for the worker log."""
    settled = attempts_settle(team=team, older_than=older_than)
    settled += access_requests_settle(team=team, older_than=older_than)
    synced = shares_sync(team=team)
    published = lines_discover(team=team)
    found = f"; {published} line version(s) found and published" if published else ""
    incoming = incoming_sync(team=team)
    found += f"; incoming {_counts(incoming)}" if incoming else ""
    return f"settled {_counts(settled)}; records {_counts(synced)}{found}"


def _counts(counts: Counter[str]) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())) or "nothing to do"
