"""The API's share of one image with 20 tenants against the service called directly.

The same work twice, alternating, each time on a fresh shared image: `services.image_share`
called directly, and `POST /api/v1/teams/acme/images/{id}/members/` through Django's test
client in-process (the whole stack: middleware, django-ninja's routing and parsing, the token
check and rate limit, the form validation, the Idempotency-Key claim when sent, the JSON
answer). The built-in cloud is wired in-process as in tests/conftest.py, without latency and
then with a latency fault on `member_create`; the database is a migrated temporary SQLite file
(or --database-url). The ratio is API time / service time, of the medians and of the minima
(the machine may be shared: the fastest run of each has the least interference).

    .venv/bin/python bench/api_share.py [--tenants 20] [--reps 15] [--latency 0.1]
"""

import argparse
import atexit
import itertools
import os
import sys
import time

import _setup


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--reps", type=int, default=15, help="timed runs of each, per latency")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per member_create")
    parser.add_argument(
        "--database-url", help="a PostgreSQL scratch database (dropped); default: SQLite file"
    )
    args = parser.parse_args()

    os.environ.setdefault("API_RATE_PER_TOKEN", "1000000/m")  # measure the work, not the limit
    if args.database_url:  # a scratch PostgreSQL database, made afresh and dropped at the end
        _setup.pg_ensure_database(args.database_url, fresh=True)
        atexit.register(_setup.pg_drop_database, args.database_url)
    _setup.configure(args.database_url or _setup.sqlite_temp_url())
    _setup.header(f"api_share: one image shared with {args.tenants} tenants, API vs service")

    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from sharing import services

    _setup.migrate()
    state, _app = _setup.builtin_cloud()
    state.member_limit = max(128, args.tenants)
    team = _setup.make_team("acme")
    alice = _setup.make_member(team, "alice", "admin")
    _, secret = services.api_token_create(user=alice, team=team, name="bench")
    client = Client(SERVER_NAME="localhost", headers={"Authorization": f"Bearer {secret}"})
    tenants = [str(200000 + n) for n in range(args.tenants)]
    names = (f"api-bench-{n}" for n in itertools.count())
    keys = (f"bench-{n}" for n in itertools.count())

    def fresh_image() -> str:
        return state.create_image(owner=_setup.ACME, region="IAD", name=next(names))["id"]

    def by_service() -> float:
        image_id = fresh_image()
        started = time.perf_counter()
        outcomes = services.image_share(
            team=team, actor=alice, region="IAD", image_id=image_id, tenants=tenants
        )
        elapsed = time.perf_counter() - started
        assert all(o.outcome == "succeeded" and o.created for o in outcomes), outcomes
        return elapsed

    def by_api(key: bool) -> float:
        image_id = fresh_image()
        headers = {"Idempotency-Key": next(keys)} if key else {}
        started = time.perf_counter()
        response = client.post(
            f"/api/v1/teams/acme/images/{image_id}/members/?region=IAD",
            {"tenants": tenants},
            content_type="application/json",
            headers=headers,
        )
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.content
        assert all(r["created"] for r in response.json()["results"])
        return elapsed

    runs = {"service": by_service, "api": lambda: by_api(False), "api+key": lambda: by_api(True)}
    print(
        f"database: {connection.vendor}; {args.tenants} tenants per share; "
        f"CLOUD_SHARE_CONCURRENCY {settings.CLOUD_SHARE_CONCURRENCY}; in-process cloud; "
        f"{args.reps} runs of each, interleaved, after 2 warm-up runs of each"
    )
    for latency in (0.0, args.latency):
        state.clear_faults()
        if latency:
            state.add_fault("latency", route="member_create", seconds=latency)
        for run in runs.values():  # warm-up: token, code paths, database pages
            run()
            run()
        samples: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.reps):
            for name, run in runs.items():
                samples[name].append(run())
        service, fastest = _setup.median(samples["service"]), min(samples["service"])
        print()
        print(f"member_create latency {latency * 1000:.0f} ms:")
        for name, values in samples.items():
            ratio, best = _setup.median(values) / service, min(values) / fastest
            summary = _setup.summary(values)
            print(f"  {name:8} {summary:>48}   ratio {ratio:.2f}x (of minima {best:.2f}x)")
        overhead = _setup.median(samples["api"]) - service
        print(f"  API overhead over the service (medians): {overhead * 1000:+.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
