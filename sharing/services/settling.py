"""Settling: every entry without a final outcome (a crash between attempt and answer, or an
answer that could not be confirmed) gains one, from evidence tied to that attempt
(docs/design.md, "Settling outcomes")."""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from sharing.cloud import CloudError, ImagesClient, Member, NotFound
from sharing.clouds import client_for
from sharing.models import Action, Basis, Drift, LedgerEntry, Outcome, Team

from .ledger import ledger_settle

SETTLE_AFTER = timedelta(minutes=5)
_EXPECTED_STATUS = {Action.ACCEPT: "accepted", Action.REJECT: "rejected", Action.PENDING: "pending"}
_MEMBER_ACTIONS = (Action.SHARE, Action.REVOKE, Action.EXPIRE)
_REMOVALS = (Action.REVOKE, Action.EXPIRE)


@dataclass(frozen=True)
class _Verdict:
    outcome: str  # `unknown` here is final: the evidence cannot tell, and the entry says why
    why: str


def attempts_settle(*, team: Team, older_than: timedelta = SETTLE_AFTER) -> Counter[str]:
    """Give every open entry older than `older_than` its final outcome; counts per outcome.

    Each entry is judged by what the attempt itself can have done: the member as the cloud
    shows it, bounded by the next recorded action on the same image and tenant (a later
    share answered 201 proves the member was absent before it, a 409 that it was there; a
    later revoke answered 204 that it was there, a 404 that it was not). Where nothing can
    tell, the entry says so. Two workers may run at once: each entry is settled once.
    """
    cutoff = timezone.now() - older_than
    entries = (
        LedgerEntry.objects.filter(team=team)
        .open()
        .filter(created_at__lt=cutoff)
        .exclude(image_id="")
    )
    clients: dict[str, ImagesClient] = {}
    counts: Counter[str] = Counter()
    for entry in entries.order_by("created_at", "id"):
        if entry.region not in clients:
            clients[entry.region] = client_for(team, entry.region)
        try:
            verdict = _verdict(clients[entry.region], entry)
        except CloudError:
            counts["waiting"] += 1  # the cloud cannot be asked now; the next run tries again
            continue
        if verdict is not None and ledger_settle(entry, verdict.outcome, verdict.why):
            counts[verdict.outcome] += 1
    return counts


def _verdict(client: ImagesClient, entry: LedgerEntry) -> _Verdict | None:
    if entry.action == Action.MAKE_SHARED:
        shared = client.get_image(entry.image_id).visibility == "shared"
        return _Verdict(
            Outcome.SUCCEEDED if shared else Outcome.FAILED,
            "The image is shared now." if shared else "The image is not shared.",
        )
    if entry.action in _EXPECTED_STATUS:
        return _status_verdict(client, entry)
    if entry.action in _MEMBER_ACTIONS:
        return _member_verdict(client, entry)
    return None


def _member_now(client: ImagesClient, image_id: str, member_id: str) -> Member | None:
    try:
        return client.get_member(image_id, member_id)
    except NotFound:
        return None


def _member_verdict(client: ImagesClient, entry: LedgerEntry) -> _Verdict:
    """A share succeeded if the tenant was a member once it was done; a revoke if it was a
    member when the revoke began and gone once it was done. Once done: the next entry's
    answer on this member, else the member as the cloud shows it now. When it began: the
    previous entry, if answered before this attempt began, else the member's timestamps."""
    member = _member_now(client, entry.image_id, entry.tenant)
    judged = _state_once_done(entry, member)
    if isinstance(judged, _Verdict):
        return judged
    after, until = judged
    before, since = _state_before(entry, member)
    if entry.action == Action.SHARE:
        return _share_verdict(entry.tenant, after, before, since, until)
    return _revoke_verdict(entry.tenant, after, before, since, until)


def _state_once_done(entry: LedgerEntry, member: Member | None) -> tuple[bool, str] | _Verdict:
    """Whether the tenant was a member once `entry` was done, and how that is known; or the
    verdict that the cloud cannot tell, and why."""
    sharing = entry.action == Action.SHARE
    later = _next_member_entry(entry)
    changed = member is not None and not _surely_before(member.updated_at, entry)
    if later is None and not sharing and changed:
        return _cannot_tell(
            f"{entry.tenant} is a member now, but changed since the revoke began (removed and "
            "added again, or a new status)."
        )
    if later is not None and entry.completed_at and later.created_at < entry.completed_at:
        # The later action began while this one waited for its answer: its request may have
        # reached the cloud after the later one, and the later answer does not bound it.
        return _cannot_tell(f"entry #{later.pk} began before this attempt was answered.")
    after, until = _state_after(entry, later, member)
    if later is not None and after is not None and _may_land_after(entry, later, after):
        return _cannot_tell(
            "this attempt's request may still have reached the cloud after entry "
            f"#{later.pk} began."
        )
    if after is None:  # only a later action can leave the state unknown
        which = f"entry #{later.pk}" if later else "a later action"
        return _cannot_tell(f"{which} changed this member again before its state was known.")
    # A share succeeds if the member is there once it is done, whoever added it; otherwise an
    # earlier action still running when this one began may have made the change seen after.
    running = _running_when_began(entry) if not (sharing and after) else None
    if running is not None and (running.action == Action.SHARE) == after:
        return _cannot_tell(
            f"entry #{running.pk} was still waiting for its answer when this attempt began, "
            "and may have made that change."
        )
    return after, until


def _cannot_tell(why: str) -> _Verdict:
    return _Verdict(Outcome.UNKNOWN, f"The cloud cannot tell: {why}")


def _share_verdict(who: str, after: bool, before: bool | None, since: str, until: str) -> _Verdict:
    """A share succeeded if the member was there once it was done, added by it or already
    there (as a 409 says): the next action's answer or today's state, bounded by it."""
    if not after:
        return _Verdict(Outcome.FAILED, f"Settled from evidence: {who} was not a member {until}.")
    how = f"not a member {since}; " if before is False else ""
    return _Verdict(Outcome.SUCCEEDED, f"Settled from evidence: {who} was {how}a member {until}.")


def _revoke_verdict(who: str, after: bool, before: bool | None, since: str, until: str) -> _Verdict:
    """A revoke succeeded if the member was there when it began and gone once it was done."""
    if after:
        return _Verdict(Outcome.FAILED, f"Settled from evidence: {who} was still a member {until}.")
    if before is None:
        # Asked of a member the page or the API listed: it was one when the revoke began.
        before, since = True, "when the revoke was asked (listed then)"
    if not before:
        return _Verdict(
            Outcome.FAILED, f"Settled from evidence: {who} was not a member {since}, nothing "
            "to remove.",
        )  # fmt: skip
    return _Verdict(
        Outcome.SUCCEEDED, f"Settled from evidence: {who} was a member {since}; gone {until}."
    )


# How long a request whose answer was lost may still reach the cloud after the client gave up
# (it may sit in a proxy's or the server's queue): servers and proxies time requests out well
# within this.
IN_FLIGHT = timedelta(minutes=1)


def _may_land_after(entry: LedgerEntry, later: LedgerEntry, present: bool) -> bool:
    """Whether this attempt's request, sent and never answered, may have reached the cloud
    after the next action began, and then changed what that action's answer showed.

    A late share finds a member there (409) and changes nothing; it matters only when the next
    action saw no member and did not add one itself. Likewise a late revoke matters only when
    the next action saw the member and did not remove it itself.
    """
    if entry.outcome not in (None, Outcome.UNKNOWN):
        return False
    if later.created_at >= (entry.completed_at or entry.created_at) + IN_FLIGHT:
        return False
    if entry.action == Action.SHARE:
        return not present and later.action != Action.SHARE
    return present and later.action == Action.SHARE


def _state_after(
    entry: LedgerEntry, later: LedgerEntry | None, member: Member | None
) -> tuple[bool | None, str]:
    """Whether the tenant was a member once `entry` was done (just before `later`, the next
    action on it), and how that is known. Where the later action's own answer does not tell,
    what it can have done does: a share only adds, so a member missing after it was missing
    before it; a revoke only removes, so a member there after it was there before it."""
    chain: list[LedgerEntry] = []
    known: bool | None = None
    while later is not None and len(chain) < _CHAIN_LIMIT:
        known = _present_before(later)
        if known is None and member is not None:
            if _surely_before(member.updated_at, later):
                known = True  # unchanged since before the later action
            elif member.created_at is not None and member.created_at >= later.created_at:
                known = False  # it first existed after the later action began
        if known is not None:
            break
        chain.append(later)
        later = _next_member_entry(later)
    if later is None:
        known = member is not None
    for step in reversed(chain):  # walk back to `entry` through the actions that did not tell
        adds = step.action == Action.SHARE
        known = False if adds and known is False else True if not adds and known else None
    first = chain[0] if chain else later
    return known, f"before entry #{first.pk}" if first else "now"


_CHAIN_LIMIT = 20


# Glance's timestamps have whole seconds: one proves an order only a second away.
_TICK = timedelta(seconds=1)


def _surely_before(moment: datetime | None, entry: LedgerEntry) -> bool:
    return moment is not None and moment + _TICK <= entry.created_at


def _state_before(entry: LedgerEntry, member: Member | None) -> tuple[bool | None, str]:
    """Whether the tenant was a member when this attempt began, and how that is known."""
    previous = _previous_member_entry(entry)
    if previous is not None:
        known = _present_after(previous, entry)
        if known is not None:
            return known, f"after entry #{previous.pk}"
    if member is not None:
        if _surely_before(member.updated_at, entry):
            return True, "before it (unchanged since)"
        # Glance keeps a member's created_at even when it is removed and added again: one
        # created after the attempt began did not exist before it.
        if member.created_at is not None and member.created_at >= entry.created_at:
            return False, "before it (created after it began)"
    return None, ""


def _next_member_entry(entry: LedgerEntry) -> LedgerEntry | None:
    """The next action on the same member after this one: the bound of what it can have done."""
    return (
        _member_entries(entry)
        .filter(
            Q(created_at__gt=entry.created_at) | Q(created_at=entry.created_at, pk__gt=entry.pk)
        )
        .order_by("created_at", "id")
        .first()
    )


def _running_when_began(entry: LedgerEntry) -> LedgerEntry | None:
    """An earlier action on the same member that was answered only after this one began (two
    people at once): its change may have come after this attempt's."""
    return (
        _member_entries(entry)
        .filter(created_at__lt=entry.created_at, completed_at__gt=entry.created_at)
        .exclude(outcome=Outcome.FAILED)  # it changed nothing
        .order_by("-created_at", "-id")
        .first()
    )


def _previous_member_entry(entry: LedgerEntry) -> LedgerEntry | None:
    """The last action on the same member, or drift found, before this one began."""
    return (
        _member_entries(entry, Action.DRIFT)
        .filter(
            Q(created_at__lt=entry.created_at) | Q(created_at=entry.created_at, pk__lt=entry.pk)
        )
        .order_by("-created_at", "-id")
        .first()
    )


def _member_entries(entry: LedgerEntry, *more: str):
    return LedgerEntry.objects.filter(
        team_id=entry.team_id, region=entry.region, image_id=entry.image_id,
        tenant=entry.tenant, action__in=[*_MEMBER_ACTIONS, *more],
    )  # fmt: skip


def _definite(entry: LedgerEntry) -> bool:
    """Answered by the cloud itself, not settled from evidence nor inferred by the client (a
    read after a lost answer, a retry's 404: cloud/images.py), which tell nothing of before."""
    return (
        entry.outcome in (Outcome.SUCCEEDED, Outcome.FAILED)
        and not entry.settled_at
        and entry.basis != Basis.INFERRED
    )


def _present_after(previous: LedgerEntry, entry: LedgerEntry) -> bool | None:
    """Whether the member existed once `previous` was answered, if that was before `entry`
    began (None: it does not tell)."""
    if previous.completed_at is None or previous.completed_at > entry.created_at:
        return None  # still on its way when this attempt began
    if previous.action == Action.DRIFT:
        return previous.drift != Drift.GONE
    if previous.settled_at:
        return None
    if previous.action == Action.SHARE:
        return True if previous.outcome == Outcome.SUCCEEDED else None
    # A revoke that succeeded, however it was established, or was answered 404: gone.
    if previous.outcome == Outcome.SUCCEEDED or previous.http_status == 404:
        return False
    return None


def _present_before(later: LedgerEntry) -> bool | None:
    """Whether the member existed just before `later`, from the cloud's answer to it."""
    if not _definite(later):
        return None
    if later.action == Action.SHARE:
        return {201: False, 200: False, 409: True}.get(later.http_status or 0)
    return {204: True, 200: True, 404: False}.get(later.http_status or 0)


def _status_verdict(client: ImagesClient, entry: LedgerEntry) -> _Verdict:
    expected = _EXPECTED_STATUS[Action(entry.action)]
    member = _member_now(client, entry.image_id, entry.tenant or client.tenant_id)
    if member is not None and member.status == expected:
        return _Verdict(Outcome.SUCCEEDED, f"Settled from evidence: the status is {expected}.")
    later = (
        LedgerEntry.objects.filter(
            team_id=entry.team_id,
            region=entry.region,
            image_id=entry.image_id,
            tenant=entry.tenant,
            action__in=list(_EXPECTED_STATUS),
            id__gt=entry.id,
        ).exists()  # fmt: skip
    )
    if later:
        return _Verdict(
            Outcome.UNKNOWN, "The cloud cannot tell: a later decision changed the status again."
        )
    return _Verdict(
        Outcome.FAILED,
        f"Settled from evidence: the status is {member.status if member else 'gone'}, "
        f"not {expected}.",
    )
