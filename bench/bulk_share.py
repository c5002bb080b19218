"""Sharing one image with 100 tenants when each member create takes 100 ms upstream.

`sharing.services.image_share` (ledger attempts, a bounded thread pool of
CLOUD_SHARE_CONCURRENCY workers for the creates, then the ledger outcomes and Share records)
against a sequential loop of `ImagesClient.create_member` over the same tenants on another
image. The built-in cloud is wired in-process as in tests/conftest.py, with a latency fault on
`member_create`; the database is a migrated temporary SQLite file (or --database-url).

Besides the wall time it shows where the time goes: how long image_share runs before the
first create reaches the cloud (get_image and the ledger attempts), how long it runs after the
last create has answered (recording outcomes not yet recorded), and its database statements.
The same runs without the latency fault show the fixed cost of the service.

    .venv/bin/python bench/bulk_share.py [--tenants 100] [--latency 0.1] [--concurrency 8,4,16]
"""

import argparse
import itertools
import math
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import _setup


@dataclass
class Run:
    wall: float
    before_first: float  # start of image_share -> first member_create reaches the cloud
    after_last: float  # last member_create answered -> image_share returns
    statements: int
    statement_seconds: float


class StatementTimer:
    """A database execute wrapper: counts statements of this thread and their time."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.count += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per member_create")
    parser.add_argument("--concurrency", default="8,4,16", help="CLOUD_SHARE_CONCURRENCY values")
    parser.add_argument("--reps", type=int, default=5, help="timed image_share runs per value")
    parser.add_argument("--seq-reps", type=int, default=3, help="timed sequential loops")
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    args = parser.parse_args()
    levels = [int(value) for value in args.concurrency.split(",")]

    _setup.configure(args.database_url or _setup.sqlite_temp_url())
    _setup.header("bulk_share: one image shared with many tenants, 100 ms per create upstream")

    from django.conf import settings
    from django.db import connection
    from django.test import override_settings

    from sharing import services
    from sharing.clouds import client_for

    _setup.migrate()
    state, _app = _setup.builtin_cloud()
    state.member_limit = max(128, args.tenants)
    team = _setup.make_team("acme")
    alice = _setup.make_member(team, "alice", "admin")
    tenants = [str(200000 + n) for n in range(args.tenants)]
    names = (f"bulk-{n}" for n in itertools.count())
    latency = 0.0

    # When each member create reaches the cloud (on this bench's own CloudState instance).
    creates_at: list[float] = []
    record_call = state.record_call

    def recording(route: str):
        if route == "member_create":
            creates_at.append(time.perf_counter())
        return record_call(route)

    state.record_call = recording

    def fresh_image() -> str:
        return state.create_image(owner=_setup.ACME, region="IAD", name=next(names))["id"]

    def run_share(concurrency: int, who: list[str] = tenants) -> Run:
        image_id = fresh_image()
        creates_at.clear()
        timer = StatementTimer()
        with (
            override_settings(CLOUD_SHARE_CONCURRENCY=concurrency),
            connection.execute_wrapper(timer),
        ):
            started = time.perf_counter()
            outcomes = services.image_share(
                team=team, actor=alice, region="IAD", image_id=image_id, tenants=who
            )
            ended = time.perf_counter()
        assert all(o.outcome == "succeeded" and o.created for o in outcomes), outcomes
        assert state.member_count(image_id) == len(who) == len(creates_at)
        return Run(
            wall=ended - started,
            before_first=creates_at[0] - started,
            after_last=max(0.0, ended - (creates_at[-1] + latency)),
            statements=timer.count,
            statement_seconds=timer.seconds,
        )

    def run_sequential(who: list[str] = tenants) -> float:
        image_id = fresh_image()
        client = client_for(team, "IAD")
        started = time.perf_counter()
        for tenant in who:
            assert client.create_member(image_id, tenant).created
        elapsed = time.perf_counter() - started
        assert state.member_count(image_id) == len(who)
        return elapsed

    def run_bare_pool(concurrency: int, who: list[str] = tenants) -> float:
        """The same creates on a bare pool of `concurrency` threads: no ledger, no records."""
        image_id = fresh_image()
        client = client_for(team, "IAD")

        def create(tenant: str) -> bool:
            with client.fork() as own:
                return own.create_member(image_id, tenant).created

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            assert all(pool.map(create, who))
        elapsed = time.perf_counter() - started
        assert state.member_count(image_id) == len(who)
        return elapsed

    # Warm-up without latency: token, code paths, database pages.
    run_share(8, tenants[:10])
    run_sequential(tenants[:10])
    run_bare_pool(8, tenants[:10])
    fixed = {level: [run_share(level) for _ in range(3)] for level in levels}
    fixed_sequential = [run_sequential() for _ in range(3)]

    latency = args.latency
    state.add_fault("latency", route="member_create", seconds=latency)
    sequential = [run_sequential() for _ in range(args.seq_reps)]
    shared: dict[int, list[Run]] = {level: [] for level in levels}
    bare: dict[int, list[float]] = {level: [] for level in levels}
    for rep in range(args.reps):
        rotated = levels[rep % len(levels) :] + levels[: rep % len(levels)]
        for level in rotated:
            shared[level].append(run_share(level))
            bare[level].append(run_bare_pool(level))

    n = args.tenants
    med = _setup.median
    print(
        f"database: {connection.vendor}; {n} tenants per run; member_create latency "
        f"{latency * 1000:.0f} ms; default CLOUD_SHARE_CONCURRENCY "
        f"{settings.CLOUD_SHARE_CONCURRENCY}; in-process cloud"
    )
    print()
    print(f"{'':30} {'wall time':>48} {'speed-up':>9} {'ideal':>7}")
    print(
        f"{'sequential create_member loop':30} {_setup.summary(sequential, 1, 's'):>48} "
        f"{1.0:>8.2f}x {n * latency:>6.2f}s"
    )
    seq = med(sequential)
    for level in levels:
        walls = [run.wall for run in shared[level]]
        ideal = math.ceil(n / level) * latency
        print(
            f"{f'image_share, concurrency {level}':30} {_setup.summary(walls, 1, 's'):>48} "
            f"{seq / med(walls):>8.2f}x {ideal:>6.2f}s"
        )
    print("(ideal: ceil(tenants / workers) x latency, the creates alone)")
    print()
    print("image_share against a bare thread pool making the same creates (no ledger, no records):")
    for level in levels:
        walls = [run.wall for run in shared[level]]
        print(
            f"  {f'bare pool, {level} threads':28} {_setup.summary(bare[level], 1, 's'):>48} "
            f"image_share / bare: {med(walls) / med(bare[level]):.2f}x"
        )
    print()
    print("where image_share's time goes (medians over the runs above):")
    print(
        f"  {'concurrency':>11} {'before 1st create':>18} {'after last answer':>18} "
        f"{'statements':>11} {'in statements':>14}"
    )
    for label, runs_by_level in [("100 ms", shared), ("no latency", fixed)]:
        for level, runs in runs_by_level.items():
            print(
                f"  {level:>11} {med([r.before_first for r in runs]):>17.2f}s "
                f"{med([r.after_last for r in runs]):>17.2f}s "
                f"{med([r.statements for r in runs]):>11.0f} "
                f"{med([r.statement_seconds for r in runs]):>13.2f}s  ({label})"
            )
    print()
    print("without the latency fault (fixed cost: database, parsing, in-process cloud):")
    for level, runs in fixed.items():
        walls = [run.wall for run in runs]
        print(f"  image_share, concurrency {level:<3} {_setup.summary(walls, 1, 's')}")
    print(f"  sequential create_member loop  {_setup.summary(fixed_sequential, 1, 's')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
