"""Publishing one version of an image line to 100 subscribers, when each member create takes
100 ms upstream, against the bulk share of a fresh image with the same 100 tenants, in the
same run.

`services.line_publish` (the version and its ledger entries, `latest`, the line properties
written on the image, then the bulk share through `shares.share_to`) against
`services.image_share` (the bulk share alone). Runs alternate, so both see the same machine.
The budget: the publish's median at most 1.1 times the bulk share's. The built-in cloud is
wired in-process as in tests/conftest.py, with a latency fault on `member_create`; the database
is a migrated temporary SQLite file (or --database-url).

    .venv/bin/python bench/publish.py [--tenants 100] [--latency 0.1] [--reps 9]
"""

import argparse
import itertools
import sys
import time

import _setup

BUDGET = 1.1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per member_create")
    parser.add_argument("--reps", type=int, default=9, help="timed runs of each")
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    args = parser.parse_args()

    _setup.configure(args.database_url or _setup.sqlite_temp_url())
    _setup.header("publish: one line version to many subscribers, 100 ms per create upstream")
    _setup.migrate()
    bench = Bench(args.tenants)
    bench.run_publish()  # warm-up without latency: token, code paths, database pages
    bench.run_share()
    bench.state.add_fault("latency", route="member_create", seconds=args.latency)
    published: list[float] = []
    shared: list[float] = []
    for rep in range(args.reps):
        if rep % 2 == 0:
            published.append(bench.run_publish())
            shared.append(bench.run_share())
        else:
            shared.append(bench.run_share())
            published.append(bench.run_publish())
    return report(args, published, shared)


class Bench:
    """A team with a line of `tenants` subscribers, on the in-process built-in cloud."""

    def __init__(self, tenants: int) -> None:
        from sharing import services
        from sharing.models import LineSubscriber

        self.state, _app = _setup.builtin_cloud()
        self.state.member_limit = max(128, tenants)
        self.team = _setup.make_team("acme")
        self.alice = _setup.make_member(self.team, "alice", "admin")
        self.tenants = [str(200000 + n) for n in range(tenants)]
        self.names = (f"build-{n}" for n in itertools.count())
        self.line = services.line_create(
            team=self.team, actor=self.alice, name="Web", slug="web", region="IAD"
        )
        # Subscribers straight into the table: subscribing is not what is measured.
        LineSubscriber.objects.bulk_create(
            LineSubscriber(line=self.line, tenant=tenant, added_by=self.alice)
            for tenant in self.tenants
        )

    def fresh_image(self) -> str:
        return self.state.create_image(owner=_setup.ACME, region="IAD", name=next(self.names))["id"]

    def run_publish(self) -> float:
        from sharing import services

        image_id = self.fresh_image()
        started = time.perf_counter()
        result = services.line_publish(line=self.line, actor=self.alice, image_id=image_id)
        elapsed = time.perf_counter() - started
        assert result.created and result.label_error is None
        assert all(o.outcome == "succeeded" and o.created for o in result.outcomes)
        assert self.state.member_count(image_id) == len(self.tenants)
        return elapsed

    def run_share(self) -> float:
        from sharing import services

        image_id = self.fresh_image()
        started = time.perf_counter()
        outcomes = services.image_share(
            team=self.team, actor=self.alice, region="IAD", image_id=image_id,
            tenants=self.tenants,
        )  # fmt: skip
        elapsed = time.perf_counter() - started
        assert all(o.outcome == "succeeded" and o.created for o in outcomes)
        return elapsed


def report(args: argparse.Namespace, published: list[float], shared: list[float]) -> int:
    from django.conf import settings
    from django.db import connection

    ratio = _setup.median(published) / _setup.median(shared)
    print(
        f"database: {connection.vendor}; {args.tenants} subscribers; member_create latency "
        f"{args.latency * 1000:.0f} ms; CLOUD_SHARE_CONCURRENCY "
        f"{settings.CLOUD_SHARE_CONCURRENCY}; in-process cloud"
    )
    print()
    print(f"{'line_publish (new version)':30} {_setup.summary(published, 1, 's')}")
    print(f"{'image_share (same tenants)':30} {_setup.summary(shared, 1, 's')}")
    verdict = "within" if ratio <= BUDGET else "OVER"
    print(f"publish / bulk share: {ratio:.3f}x ({verdict} the {BUDGET}x budget)")
    return 0 if ratio <= BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
