"""Each team's ledger as a hash chain, and its verification (docs/design.md, "A ledger an
auditor can verify").

Every change the ledger allows adds one link: an entry written, an attempt completed, an open
entry settled. A link holds the digest of all the entry's fields at that moment and a hash over
the link before it, so an entry edited afterwards no longer matches its newest link, a row
deleted leaves a link without its entry, a row inserted has no link, and links removed,
inserted or swapped break the hashes. Only cutting the newest links together with their entries
leaves a valid chain; a signed checkpoint kept outside the database catches that
(`checkpoints.py`).

Links are written by the ledger service in the transaction that writes the entry, under the
row lock of the team's `LedgerHead`, so concurrent writers take turns and the chain stays one.
"""

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby

from django.db import transaction

from sharing.models import Change, LedgerEntry, LedgerHead, LedgerLink, Team

GENESIS = "0" * 64
# Every field of an entry but the actor's foreign key, which Django clears when the user is
# deleted (the name snapshot `actor_name` is covered). A field added later joins the end of
# this list: empty fields are left out of the digest, so entries written before keep theirs.
DIGEST_FIELDS = (
    "id", "team_id", "created_at", "actor_name", "channel", "action", "region", "image_id",
    "image_name", "tenant", "note", "access_request_id", "outcome", "http_status",
    "request_id", "message", "completed_at", "settled_at", "settlement", "basis", "drift",
    "line_id", "line_version",
)  # fmt: skip
BATCH = 5000


def digest(values: Sequence[object], names: Sequence[str] = DIGEST_FIELDS) -> str:
    """The digest of an entry's fields (`values` in the order of `names`): `name=length:text`
    for each field that holds something (NULL and "" are left out), times in UTC ISO form.
    Length-prefixed, so no text can shift from one field to the next. Written for speed:
    verification digests every entry of a ledger of millions."""
    parts = []
    for name, value in zip(names, values, strict=True):
        if value is None or value == "":
            continue
        text = value.astimezone(UTC).isoformat() if type(value) is datetime else str(value)
        parts.append(f"{name}={len(text)}:{text}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def link_hash(prev: str, seq: int, entry_id: int, change: str, entry_digest: str) -> str:
    return hashlib.sha256(f"{prev}|{seq}|{entry_id}|{change}|{entry_digest}".encode()).hexdigest()


def chain_entries(entries: Sequence[LedgerEntry], change: str) -> None:
    """Append a link for each entry (saved, as it is in the database now), in id order. Call
    inside the transaction that wrote them."""
    if not entries:
        return
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Links are written in the transaction of the change they record.")
    team_id = entries[0].team_id
    head = _locked_head(team_id)
    seq, prev = head.seq, head.hash
    links = []
    for entry in sorted(entries, key=lambda e: e.pk):
        seq += 1
        entry_digest = digest([getattr(entry, name) for name in DIGEST_FIELDS])
        prev = link_hash(prev, seq, entry.pk, change, entry_digest)
        links.append(
            LedgerLink(
                team_id=team_id,
                seq=seq,
                entry_id=entry.pk,
                change=change,
                digest=entry_digest,
                hash=prev,
            )  # fmt: skip
        )
    LedgerLink.objects.bulk_create(links)
    LedgerHead.objects.filter(pk=team_id).update(seq=seq, hash=prev)


def _locked_head(team_id: int) -> LedgerHead:
    head = LedgerHead.objects.select_for_update().filter(pk=team_id).first()
    if head is None:
        # The team's first link; of two writers creating the head at once, one waits for the
        # other's row and then locks it.
        LedgerHead.objects.get_or_create(pk=team_id, defaults={"hash": GENESIS})
        head = LedgerHead.objects.select_for_update().get(pk=team_id)
    return head


def ledger_head(team: Team) -> tuple[int, str]:
    """(number of links, hash of the newest) for a team: what an export or checkpoint names."""
    head = LedgerHead.objects.filter(pk=team.pk).first()
    return (head.seq, head.hash) if head else (0, GENESIS)


# Verification


@dataclass(frozen=True)
class Problem:
    """The first thing found wrong: what, and which entry (or link) it concerns."""

    kind: str  # edited, deleted, inserted, reordered, cut
    entry_id: int | None
    seq: int | None
    detail: str


@dataclass(frozen=True)
class Verification:
    team: str
    links: int
    entries: int
    head: str
    problem: Problem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def ledger_verify(*, team: Team) -> Verification:
    """Check a team's chain and entries; name the first problem found, in chain order."""
    links, head, problem = _walk_links(team)
    entries = LedgerEntry.objects.filter(team=team).count()
    if problem is None:
        problem = _match_entries(team)
    return Verification(team.slug, links, entries, head, problem)


def _walk_links(team: Team) -> tuple[int, str, Problem | None]:
    """The links in order: each follows the one before and hashes to what it says."""
    prev, expected = GENESIS, 1
    rows = (
        LedgerLink.objects.filter(team=team)
        .order_by("seq")
        .values_list("seq", "entry_id", "change", "digest", "hash")
    )
    for seq, entry_id, change, entry_digest, stored in rows.iterator(chunk_size=BATCH):
        if seq != expected or link_hash(prev, seq, entry_id, change, entry_digest) != stored:
            missing = seq != expected
            what = "missing" if missing else f"(entry {entry_id}) does not follow the one before"
            return expected - 1, prev, Problem(
                "reordered", None if missing else entry_id, expected,
                f"Link #{expected} {what}: links were removed, inserted or reordered.",
            )  # fmt: skip
        prev, expected = stored, expected + 1
    head = LedgerHead.objects.filter(pk=team.pk).values_list("seq", "hash").first()
    if head is not None and head != (expected - 1, prev):
        return (
            expected - 1,
            prev,
            Problem("cut", None, expected - 1, "The chain's recorded head is not its last link."),
        )
    return expected - 1, prev, None


def _match_entries(team: Team) -> Problem | None:
    """Each entry against its newest link, merged in id order; the earliest problem wins."""
    found: list[Problem] = []
    entries = _entries(team)
    current = next(entries, None)
    for entry_id, links in groupby(_links_by_entry(team), key=lambda link: link[0]):
        newest = list(links)[-1]
        while current is not None and current[0] < entry_id:
            found.append(_inserted(current[0]))
            current = next(entries, None)
        if current is None or current[0] != entry_id:
            found.append(Problem("deleted", entry_id, newest[1], f"Entry {entry_id} is gone."))
            continue
        if digest(current) != newest[2]:
            found.append(
                Problem(
                    "edited",
                    entry_id,
                    newest[1],
                    f"Entry {entry_id} no longer matches link #{newest[1]}: it was changed, "
                    "or swapped with another entry.",
                )  # fmt: skip
            )
        current = next(entries, None)
    while current is not None:
        found.append(_inserted(current[0]))
        current = next(entries, None)
    return min(found, key=_chain_order, default=None)


def _inserted(entry_id: int) -> Problem:
    return Problem("inserted", entry_id, None, f"Entry {entry_id} is in no link: it was added.")


def _chain_order(problem: Problem) -> tuple[int, int]:
    return (problem.seq if problem.seq is not None else 2**63, problem.entry_id or 0)


def _entries(team: Team) -> Iterator[tuple]:
    rows = LedgerEntry.objects.filter(team=team).order_by("id").values_list(*DIGEST_FIELDS)
    return rows.iterator(chunk_size=BATCH)


def _links_by_entry(team: Team) -> Iterator[tuple[int, int, str]]:
    rows = (
        LedgerLink.objects.filter(team=team)
        .order_by("entry_id", "seq")
        .values_list("entry_id", "seq", "digest")
    )
    return rows.iterator(chunk_size=BATCH)


__all__ = [
    "Change",
    "Problem",
    "Verification",
    "chain_entries",
    "ledger_head",
    "ledger_verify",
]
