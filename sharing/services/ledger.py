"""The ledger's one writer: every `LedgerEntry` row is created here, and only here.

Every upstream mutation follows one pattern (docs/design.md, "The ledger"): an attempt is
committed before the call and completed with the outcome after it, whatever happens. Decisions
made in the dashboard and drifts found by a sync are recorded with their outcome at once.

The channel (browser, API, system) is the caller's context rather than an argument of every
service: the API wraps its calls in `ledger.channel(Channel.API)`; entries without a user are
the system's.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from sharing.cloud import CloudError, UnknownOutcome
from sharing.models import AccessRequest, Action, Change, Channel, LedgerEntry, Line, Outcome, Team
from sharing.webhooks import outbox

from .chain import chain_entries

SYSTEM_ACTOR = "system"
NAME_LENGTH = LedgerEntry._meta.get_field("image_name").max_length or 255

_channel: ContextVar[str] = ContextVar("ledger_channel", default=Channel.WEB)
# The image line and version number that entries written inside `about_line` name.
_line: ContextVar[tuple[Line | None, int | None]] = ContextVar("ledger_line", default=(None, None))


@contextmanager
def channel(value: str) -> Iterator[None]:
    """Entries written inside the block carry this channel (for people: web or api)."""
    token = _channel.set(value)
    try:
        yield
    finally:
        _channel.reset(token)


@contextmanager
def about_line(line: Line, version: int | None = None) -> Iterator[None]:
    """Entries written inside the block name this line and version: a publish's shares go
    through the same share path as any other, and this is how their entries name the line."""
    token = _line.set((line, version))
    try:
        yield
    finally:
        _line.reset(token)


def actor_name(actor: User | None) -> str:
    return actor.get_username() if actor is not None else SYSTEM_ACTOR


def _entry(
    *,
    team: Team,
    actor: User | None,
    action: str,
    region: str = "",
    image_id: str = "",
    image_name: str | None = "",
    tenant: str = "",
    note: str = "",
    access_request: AccessRequest | None = None,
    actor_label: str = "",
    line: Line | None = None,
    line_version: int | None = None,
) -> LedgerEntry:
    """An unsaved entry. `actor_label` names a requester who is not a user (the public link)."""
    person = actor is not None or bool(actor_label)
    if line is None:
        line, line_version = _line.get()
    return LedgerEntry(
        line=line,
        line_version=line_version,
        team=team,
        actor=actor,
        actor_name=(actor_label or actor_name(actor))[:150],
        channel=_channel.get() if person else Channel.SYSTEM,
        action=action,
        region=region,
        image_id=image_id,
        image_name=(image_name or "")[:NAME_LENGTH],
        tenant=tenant,
        note=note,
        access_request=access_request,
    )


def ledger_attempt(**fields) -> LedgerEntry:
    """Record an attempt, committed before the upstream call it describes."""
    entry = _entry(**fields)
    with _committed_now():
        entry.save()
        chain_entries([entry], Change.WRITTEN)
    return entry


def ledger_attempts(*, tenants: list[str], **fields) -> dict[str, LedgerEntry]:
    """One attempt per tenant, committed together before any of the calls."""
    entries = [_entry(tenant=tenant, **fields) for tenant in tenants]
    with _committed_now():
        created = LedgerEntry.objects.bulk_create(entries)
        chain_entries(created, Change.WRITTEN)
    return {entry.tenant: entry for entry in created}


def _committed_now() -> transaction.Atomic:
    """A block that commits when it ends, or refuses to start inside another transaction.

    An attempt must be in the database before the call it describes: written inside an outer
    transaction (ATOMIC_REQUESTS, or a caller's `atomic()`), it would stay uncommitted across
    the call and vanish with a crash, the very case it exists for. Django's durable block
    raises RuntimeError when nested, so that mistake fails at once, in tests too.
    """
    return transaction.atomic(durable=True)


def ledger_record(
    *,
    outcome: str = Outcome.SUCCEEDED,
    message: str = "",
    drift: str = "",
    basis: str = "",
    **fields,
) -> LedgerEntry:
    """An entry complete at once: a decision in the dashboard, or a drift a sync found (with
    its kind, `drift`)."""
    entry = _entry(**fields)
    entry.outcome, entry.message, entry.completed_at = outcome, message, timezone.now()
    entry.drift, entry.basis = drift, basis
    with transaction.atomic(savepoint=False):
        entry.save()
        chain_entries([entry], Change.WRITTEN)
        outbox.record(entry)
    return entry


def ledger_approval(
    *, access_request: AccessRequest, actor: User, note: str, share_note: str, image_name: str
) -> LedgerEntry:
    """An approval: the decision, complete at once, and the attempt of its share, committed
    together before the share's upstream calls; returns the attempt."""
    decision, attempt = (
        _entry(
            team=access_request.team,
            actor=actor,
            action=action,
            region=access_request.region,
            image_id=access_request.image_id,
            image_name=image_name,
            tenant=access_request.tenant,
            note=text,
            access_request=access_request,
        )  # fmt: skip
        for action, text in [(Action.APPROVE, note), (Action.SHARE, share_note)]
    )
    decision.outcome, decision.completed_at = Outcome.SUCCEEDED, timezone.now()
    with _committed_now():
        created = LedgerEntry.objects.bulk_create([decision, attempt])
        chain_entries(created, Change.WRITTEN)
        outbox.record(created[0])  # the decision: request.approved
    return attempt


def ledger_complete(
    entry: LedgerEntry,
    outcome: str,
    *,
    http_status: int | None = None,
    request_id: str | None = None,
    message: str = "",
    basis: str = "",
) -> bool:
    """Give an attempt its outcome, once; False if a settlement came first."""
    with transaction.atomic(savepoint=False):
        won = entry.complete(
            outcome, http_status=http_status, request_id=request_id, message=message, basis=basis
        )
        if won:
            chain_entries([entry], Change.COMPLETED)
            outbox.record(entry)
        return won


def ledger_settle(entry: LedgerEntry, outcome: str, settlement: str) -> bool:
    """Give an open entry its final outcome from later evidence, once; False if another worker
    settled it first."""
    with transaction.atomic(savepoint=False):
        won = entry.settle(outcome, settlement)
        if won:
            chain_entries([entry], Change.SETTLED)
            outbox.record(entry)
        return won


def outcome_of(error: CloudError) -> str:
    """The client raises `UnknownOutcome` when a mutation was sent and nothing tells whether
    it happened; every other error means it did not."""
    return Outcome.UNKNOWN if isinstance(error, UnknownOutcome) else Outcome.FAILED


def ledger_fail(entry: LedgerEntry, error: CloudError) -> bool:
    """Complete `entry` with what `error` says; False if a settlement came first."""
    return ledger_complete(
        entry,
        outcome_of(error), http_status=error.status, request_id=error.request_id,
        message=error.message,
    )  # fmt: skip


@contextmanager
def ledgered(entry: LedgerEntry) -> Iterator[LedgerEntry]:
    """Complete `entry` as failed (or unknown) if the block raises a CloudError.

    The block completes it itself on success; a bug (any other exception) leaves the attempt
    unresolved, visible in the history for the next sync to settle.
    """
    try:
        yield entry
    except CloudError as error:
        ledger_fail(entry, error)
        raise
