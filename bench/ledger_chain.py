"""What the ledger's hash chain costs: a 100-tenant share with and without it, and
`verify_ledger` over a million entries.

Part 1 shares one image with --tenants tenants through `services.image_share` against the
built-in cloud, alternating runs with the chain as it ships and runs where `chain_entries` is
replaced by a no-op (this script's only patch: the ledger as it was before the chain), with
100 ms per member create (as bench/bulk_share.py) and with none (the database cost alone).

Part 2 fills one team's ledger with --entries entries and their links (bulk inserts, hashes
computed as the service computes them), then times `ledger_verify` over it.

    .venv/bin/python bench/ledger_chain.py [--database-url URL] [--entries 1000000]
"""

import argparse
import itertools
import sys
import time
from datetime import timedelta

import _setup


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--only", choices=["share", "verify"], help="run one part")
    args = parser.parse_args()
    url = args.database_url or _setup.sqlite_temp_url()
    if url.startswith("postgres"):
        _setup.pg_ensure_database(url, fresh=True)
    _setup.configure(url)
    _setup.header("ledger_chain: the cost of the hash chain")
    _setup.migrate()
    if args.only != "verify":
        share_overhead(args)
    if args.only != "share":
        verify_million(args)
    return 0


def share_overhead(args) -> None:
    from django.db import connection

    from sharing import services
    from sharing.services import ledger

    state, _app = _setup.builtin_cloud()
    state.member_limit = max(128, args.tenants)
    team = _setup.make_team("acme")
    alice = _setup.make_member(team, "alice", "admin")
    tenants = [str(200000 + n) for n in range(args.tenants)]
    names = (f"chain-{n}" for n in itertools.count())
    chained = ledger.chain_entries

    def unchained(*args) -> None:
        return None

    def run(with_chain: bool) -> float:
        ledger.chain_entries = chained if with_chain else unchained
        image_id = state.create_image(owner=_setup.ACME, region="IAD", name=next(names))["id"]
        started = time.perf_counter()
        outcomes = services.image_share(
            team=team, actor=alice, region="IAD", image_id=image_id, tenants=tenants
        )
        elapsed = time.perf_counter() - started
        assert all(o.outcome == "succeeded" for o in outcomes)
        return elapsed

    run(True), run(False)  # warm-up
    print(f"database: {connection.vendor}; {args.tenants} tenants per share")
    for latency in (0.0, args.latency):
        if latency:
            state.add_fault("latency", route="member_create", seconds=latency)
        samples: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(args.reps):
            for with_chain in (False, True):
                samples[with_chain].append(run(with_chain))
        ledger.chain_entries = chained
        with_, without = _setup.median(samples[True]), _setup.median(samples[False])
        print(
            f"  member_create latency {latency * 1000:>4.0f} ms: without chain "
            f"{_setup.summary(samples[False], 1, 's')}; with chain "
            f"{_setup.summary(samples[True], 1, 's')}; overhead {100 * (with_ / without - 1):+.1f}%"
        )


def verify_million(args) -> None:
    from django.db import connection

    from sharing import services

    team = _setup.make_team("bigco")
    started = time.perf_counter()
    links = _fill_by_copy(team, args.entries) if connection.vendor == "postgresql" else None
    if links is None:
        links = _fill_by_orm(team, args.entries)
    filled = time.perf_counter() - started
    samples = []
    for _ in range(2):
        began = time.perf_counter()
        result = services.ledger_verify(team=team)
        samples.append(time.perf_counter() - began)
        assert result.ok and result.entries == args.entries, result
    print(
        f"  verify_ledger over {args.entries:,} entries ({links:,} links; filled in "
        f"{filled:.0f} s): {_setup.summary(samples, 1, 's')}"
    )


def _entry_values(team, n: int, start) -> dict:
    return {
        "team_id": team.pk, "created_at": start + timedelta(seconds=n), "actor_name": "alice",
        "channel": "web", "action": "share", "region": "IAD", "image_id": f"image-{n % 977}",
        "image_name": f"web-base {n % 977}", "tenant": str(100000 + n % 5000),
        "note": "weekly build", "outcome": "succeeded", "http_status": 200,
        "request_id": f"req-{n}", "completed_at": start + timedelta(seconds=n, milliseconds=80),
    }  # fmt: skip


def _fill_by_orm(team, entries: int) -> int:
    from django.db import transaction
    from django.utils import timezone

    from sharing.models import Change, LedgerEntry
    from sharing.services.chain import chain_entries

    start = timezone.now() - timedelta(days=365)
    for first in range(0, entries, 20_000):
        batch = [
            LedgerEntry(**_entry_values(team, n, start))
            for n in range(first, min(first + 20_000, entries))
        ]
        with transaction.atomic():
            chain_entries(LedgerEntry.objects.bulk_create(batch), Change.WRITTEN)
    return entries


def _fill_by_copy(team, entries: int) -> int:
    """PostgreSQL: entries and their links by COPY, hashed here as the service hashes them."""
    from django.db import connection
    from django.utils import timezone

    from sharing.models import LedgerEntry, LedgerHead, LedgerLink
    from sharing.services.chain import DIGEST_FIELDS, GENESIS, digest, link_hash

    columns = [f.attname for f in LedgerEntry._meta.concrete_fields]
    blanks = {
        f.attname: None if f.null else ""
        for f in LedgerEntry._meta.concrete_fields
    }  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('sharing_ledgerentry', 'id'))")
        base = cursor.fetchone()[0]
        start = timezone.now() - timedelta(days=365)
        seq, prev = 0, GENESIS
        raw = cursor.cursor
        link_columns = ["team_id", "seq", "entry_id", "change", "digest", "hash", "created_at"]
        with (
            raw.copy(f"COPY sharing_ledgerentry ({', '.join(columns)}) FROM STDIN") as entry_copy,
        ):
            links = []
            for n in range(entries):
                values = {**blanks, **_entry_values(team, n, start), "id": base + n}
                entry_copy.write_row([values[c] for c in columns])
                seq += 1
                entry_digest = digest([values[name] for name in DIGEST_FIELDS])
                prev = link_hash(prev, seq, base + n, "written", entry_digest)
                links.append((team.pk, seq, base + n, "written", entry_digest, prev, start))
        with raw.copy(f"COPY sharing_ledgerlink ({', '.join(link_columns)}) FROM STDIN") as copy:
            for link in links:
                copy.write_row(link)
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('sharing_ledgerentry', 'id'), %s)",
            [base + entries],
        )
        cursor.execute("ANALYZE sharing_ledgerentry; ANALYZE sharing_ledgerlink")
    LedgerHead.objects.update_or_create(team=team, defaults={"seq": seq, "hash": prev})
    assert LedgerLink.objects.filter(team=team).count() == seq
    return seq


if __name__ == "__main__":
    sys.exit(main())
