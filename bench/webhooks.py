"""Webhooks: the delivery worker against bare signed POSTs, and the outbox's cost to a share.

1. 1,000 events (100 members, 10 events each, so the order per member applies) delivered by
   `sharing.webhooks.services.deliveries_run` to a local receiver that verifies every
   signature with `standardwebhooks`, against 1,000 bare signed POSTs of the same bodies from
   one thread over one keep-alive connection to the same receiver. Target: at most 2x.
2. `image_share` of one image with 100 tenants (member creates take 100 ms upstream, as in
   bench/bulk_share.py) with an endpoint subscribed to `share.succeeded` (each outcome
   writes an event, its delivery and a task row in its transaction) against no endpoint.
   Target: at most 5% more.

The database is a migrated temporary SQLite file (or --database-url); tasks go to the
database backend, so nothing is delivered inside the share.

    .venv/bin/python bench/webhooks.py [--events 1000] [--tenants 100] [--reps 5]
"""

import argparse
import itertools
import os
import sys
import time

import _setup


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per member_create")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    args = parser.parse_args()
    os.environ["TASKS_IMMEDIATE"] = "0"
    os.environ["WEBHOOKS_ALLOW_PRIVATE"] = "1"
    _setup.configure(args.database_url or _setup.sqlite_temp_url())
    _setup.header("webhooks: delivery against bare signed POSTs; the outbox's cost to a share")
    _setup.migrate()

    from django.db import connection

    from sharing.webhooks.receiver import Receiver

    team = _setup.make_team("acme")
    with Receiver([]) as receiver:
        deliver, bare = delivery_runs(team, receiver, args.events, args.reps)
        shared, plain = share_runs(team, receiver, args.tenants, args.latency, args.reps)
    med = _setup.median
    print(f"database: {connection.vendor}; receiver: http.server on 127.0.0.1, verifying each")
    print()
    print(f"1. {args.events} events, one thread:")
    print(f"  {'bare signed POSTs':34} {_setup.summary(bare, 1, 's')}")
    print(f"  {'deliveries_run (outbox → receiver)':34} {_setup.summary(deliver, 1, 's')}")
    print(f"  deliveries_run / bare: {med(deliver) / med(bare):.2f}x (target: at most 2x)")
    print()
    print(f"2. image_share, {args.tenants} tenants, {args.latency * 1000:.0f} ms per create:")
    print(f"  {'no endpoint':34} {_setup.summary(plain, 1, 's')}")
    print(f"  {'an endpoint wanting share.succeeded':34} {_setup.summary(shared, 1, 's')}")
    print(f"  with / without: {med(shared) / med(plain):.3f}x (target: at most 1.05x)")
    return 0


def delivery_runs(team, receiver, events: int, reps: int) -> tuple[list[float], list[float]]:
    from django.db import transaction

    from sharing.webhooks import delivery, outbox, services
    from sharing.webhooks.models import Delivery, Endpoint, Event

    endpoint, secret = services.endpoint_create(
        team=team, actor=None, url=receiver.url, event_types=["drift.found"]
    )
    receiver.secrets = [secret]

    def fill() -> None:
        with transaction.atomic():
            for n in range(events):
                outbox.write(
                    team=team, event_type="drift.found", endpoints=[endpoint],
                    data={"n": n, "tenant": str(200000 + n % 100)},
                    subject=f"IAD/img/{200000 + n % 100}", wake=False,
                )  # fmt: skip

    def run_deliveries() -> float:
        fill()
        started = time.perf_counter()
        counts = services.deliveries_run()
        elapsed = time.perf_counter() - started
        assert counts == {"delivered": events}, counts
        return elapsed

    def run_bare() -> float:
        bodies = list(Event.objects.order_by("-id").values_list("message_id", "body")[:events])
        pool = delivery._pool(delivery.target_of(receiver.url, allow_private=True))
        started = time.perf_counter()
        for message_id, body in bodies:
            headers = delivery.signed_headers([secret], message_id, body)
            response = pool.urlopen("POST", "/hook", body=body.encode(), headers=headers)
            assert response.status == 204
        return time.perf_counter() - started

    run_deliveries()  # warm-up
    deliver, bare = [], []
    for _ in range(reps):
        deliver.append(run_deliveries())
        bare.append(run_bare())
    assert all(r.verified for r in receiver.received)
    Endpoint.objects.filter(pk=endpoint.pk).delete()
    Delivery.objects.all().delete()
    return deliver, bare


def share_runs(team, receiver, tenants: int, latency: float, reps: int):
    from sharing import services as sharing
    from sharing.webhooks import services

    state, _app = _setup.builtin_cloud()
    state.member_limit = max(128, tenants)
    alice = _setup.make_member(team, "alice", "admin")
    who = [str(200000 + n) for n in range(tenants)]
    names = (f"bulk-{n}" for n in itertools.count())

    def run(with_endpoint: bool) -> float:
        endpoint = None
        if with_endpoint:
            endpoint, _ = services.endpoint_create(
                team=team, actor=None, url=receiver.url, event_types=["share.succeeded"]
            )
        image_id = state.create_image(owner=_setup.ACME, region="IAD", name=next(names))["id"]
        started = time.perf_counter()
        outcomes = sharing.image_share(
            team=team, actor=alice, region="IAD", image_id=image_id, tenants=who
        )
        elapsed = time.perf_counter() - started
        assert all(o.outcome == "succeeded" for o in outcomes)
        if endpoint is not None:
            assert endpoint.deliveries.count() == tenants
            endpoint.delete()
        return elapsed

    run(True), run(False)  # warm-up: token, code paths
    state.add_fault("latency", route="member_create", seconds=latency)
    shared, plain = [], []
    for rep in range(reps):
        for with_endpoint in (True, False) if rep % 2 else (False, True):
            (shared if with_endpoint else plain).append(run(with_endpoint))
    return shared, plain


if __name__ == "__main__":
    sys.exit(main())
