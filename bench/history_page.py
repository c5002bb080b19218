"""The server time of the history page an auditor reads: 50 rows of a realistic ledger.

Fills team acme's ledger with --entries entries over the last 120 days (shares, revokes, access
requests and their decisions, unknown outcomes settled later, drift, exports; long notes, long
image names, several people, a pipeline and the system), chained as the services chain them.
Then times GET /t/acme/history/ in-process with Django's test client as a logged-in admin,
after a warm-up: the whole request, the SQL in it (connection.execute_wrapper) and the
template's render (the context processors included, its SQL excluded). Also a filtered first
page and a page deep in the ledger (`?before=`).

    .venv/bin/python bench/history_page.py [--database-url URL] [--entries 3400] [--reps 60]

A PostgreSQL --database-url is created afresh and dropped at exit.
"""

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import _setup

PEOPLE = [("alice", "web"), ("bob", "web"), ("carol", "web"), ("ci-pipeline", "api")]
PARTNERS = {"100002": "Globex", "100003": "Initech", "200017": "Umbrella Research & Development"}
TENANTS = [*PARTNERS, "200001", "200002", "311999", "400500"]
NOTES = [
    "",
    "",
    "weekly build",
    "Quarterly base image refresh for the partner's staging and production pools; agreed with "
    "their platform team on the call of 3 March, see ticket OPS-4411 for the full thread.",
    "Ends with the pilot. Ask before renewing: Globex's security review is still open.",
]
MESSAGES = ["", "", "The cloud answered 409: already a member.", "Timed out after 30 s."]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=3400)
    parser.add_argument("--reps", type=int, default=60, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="cProfile the first page")
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    args = parser.parse_args()
    url = args.database_url or _setup.sqlite_temp_url()
    if url.startswith("postgres"):
        _setup.pg_ensure_database(url, fresh=True)
    _setup.configure(url)
    _setup.header("history_page: the server time of one history page")
    _setup.migrate()
    _setup.builtin_cloud()
    team = _setup.make_team("acme")
    admin = _setup.make_member(team, "alice", "admin")
    for name in ("bob", "carol"):
        _setup.make_member(team, name, "member")
    started = time.perf_counter()
    deep_before = fill(team, args.entries)
    print(f"filled {args.entries:,} entries (chained) in {time.perf_counter() - started:.1f} s")
    try:
        measure(args, admin, deep_before)
    finally:
        if url.startswith("postgres"):  # a scratch database, filled afresh each run
            from django.db import connections

            connections.close_all()
            _setup.pg_drop_database(url)
    return 0


def fill(team, count: int) -> int:
    """`count` entries, chained; returns the id of an entry 80% of the way back."""
    from django.contrib.auth.models import User
    from django.db import connection, transaction
    from django.utils import timezone

    from sharing.models import Change, LedgerEntry, Partner
    from sharing.services.chain import chain_entries
    from sharing.services.ledger import ledger_settle

    rng = random.Random(7)
    users = {u.username: u for u in User.objects.filter(username__in=["alice", "bob", "carol"])}
    for tenant, name in PARTNERS.items():
        Partner.objects.get_or_create(team=team, tenant=tenant, defaults={"name": name})
    now = timezone.now()
    requests = [access_request(team, rng, n) for n in range(40)]
    step = timedelta(days=120) / count
    entries = [entry(team, rng, users, requests, now - step * (count - n), n) for n in range(count)]
    with transaction.atomic():
        created = LedgerEntry.objects.bulk_create(entries)
        chain_entries(team_id=team.pk, entry_ids=[e.pk for e in created], change=Change.WRITTEN)
    unknown = [e for e in created if e.outcome == "unknown"]
    for n, found in enumerate(unknown[: len(unknown) * 2 // 3]):
        outcome = "succeeded" if n % 3 else "failed"
        ledger_settle(found, outcome, f"The member list read {n % 50 + 1} min later: {outcome}.")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE sharing_ledgerentry; ANALYZE sharing_ledgerlink")
    return created[count // 5].pk


def access_request(team, rng, n: int):
    from sharing.models import AccessRequest

    return AccessRequest.objects.create(
        team=team, region="IAD", image_id=image_id(n), image_name=image_name(n),
        tenant=rng.choice(TENANTS), justification="For the pilot.", status="approved",
        requester_name="Dana from Globex", status_token=f"bench-token-{n}",
    )  # fmt: skip


def image_id(n: int) -> str:
    return f"{n % 97:08x}-1f2e-4d3c-9b8a-{n % 97:012x}"


def image_name(n: int) -> str:
    if n % 5 == 0:
        return ""
    return f"ubuntu-24.04-hardened-base-with-cuda-12.6-and-long-suffix-{n % 97}"[: 20 + n % 40]


def entry(team, rng, users, requests, when, n: int):
    from sharing.models import LedgerEntry

    actor, channel = rng.choice(PEOPLE)
    action = rng.choices(
        ["share", "revoke", "request", "approve", "expire", "drift", "export", "make_shared"],
        weights=[40, 15, 8, 8, 8, 4, 2, 2],
    )[0]
    if action in ("expire", "drift"):
        actor, channel = "system", "system"
    outcome = rng.choices(["succeeded", "failed", "unknown", None], weights=[80, 8, 8, 2])[0]
    tenant = rng.choice(TENANTS) if action not in ("export", "make_shared") else ""
    return LedgerEntry(
        team=team, created_at=when, actor=users.get(actor), actor_name=actor, channel=channel,
        action=action, region="IAD", image_id=image_id(n) if action != "export" else "",
        image_name=image_name(n) if action != "export" else "", tenant=tenant,
        note=rng.choice(NOTES), outcome=outcome,
        http_status=rng.choice([200, 201, 409, 504]) if outcome and channel != "system" else None,
        request_id=f"req-{n:08x}" if outcome and channel != "system" else "",
        message=rng.choice(MESSAGES) if outcome != "succeeded" else "",
        completed_at=when + timedelta(milliseconds=80) if outcome else None,
        access_request=rng.choice(requests) if action in ("request", "approve") else None,
    )  # fmt: skip


class Meter:
    """SQL time (every query of the connection) and render time of the current request."""

    def __init__(self) -> None:
        self.sql = 0.0
        self.queries = 0
        self.render = 0.0
        self.render_sql = 0.0
        self.rendering = False

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.sql += time.perf_counter() - started
            self.queries += 1

    def reset(self) -> None:
        self.sql = self.render = self.render_sql = 0.0
        self.queries = 0


@contextmanager
def metered() -> Iterator[Meter]:
    """Wraps the connection and the template backend's render (the outermost one only)."""
    from django.db import connection
    from django.template.backends.django import Template

    meter = Meter()
    original = Template.render

    def render(self, context=None, request=None):
        if meter.rendering:  # a form widget's template, inside the page's
            return original(self, context, request)
        sql_before, started = meter.sql, time.perf_counter()
        meter.rendering = True
        try:
            return original(self, context, request)
        finally:
            meter.rendering = False
            meter.render_sql += meter.sql - sql_before
            meter.render += time.perf_counter() - started

    Template.render = render  # type: ignore[method-assign]
    try:
        with connection.execute_wrapper(meter):
            yield meter
    finally:
        Template.render = original  # type: ignore[method-assign]


def measure(args, admin, deep_before: int) -> None:
    from django.db import connection
    from django.test import Client

    client = Client(SERVER_NAME="localhost")
    client.force_login(admin)
    pages = [
        ("first page", "/t/acme/history/"),
        ("first page, ?action=share", "/t/acme/history/?action=share"),
        ("first page, ?actor=bob&outcome=failed", "/t/acme/history/?actor=bob&outcome=failed"),
        ("deep page, ?before=<80% back>", f"/t/acme/history/?before={deep_before}"),
    ]
    print(f"database: {connection.vendor}; {args.reps} timed requests per page after "
          f"{args.warmup} untimed; medians (p90) in ms")  # fmt: skip
    print(f"{'page':38} {'request':>16} {'CPU':>16} {'SQL':>16} {'queries':>7} {'template':>16}")
    with metered() as meter:
        for label, url in pages:
            print(f"{label:38} {row(client, url, meter, args)}")
    print(f"load average {' '.join(f'{n:.1f}' for n in os.getloadavg())} (1, 5, 15 min)")
    if args.profile:
        profile(client, pages[0][1])


def row(client, url: str, meter: Meter, args) -> str:
    samples: dict[str, list[float]] = {"request": [], "cpu": [], "sql": [], "template": []}
    queries = 0

    def get() -> None:
        response = client.get(url)
        assert response.status_code == 200, response.status_code
        assert response.content.count(b"<tr>") >= 2, "no rows on the page"

    for n in range(args.warmup + args.reps):
        meter.reset()
        started, cpu = time.perf_counter(), time.process_time()
        get()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        if n >= args.warmup:
            samples["request"].append(elapsed)
            samples["cpu"].append(cpu)
            samples["sql"].append(meter.sql)
            samples["template"].append(meter.render - meter.render_sql)
            queries = meter.queries
    cells = [fmt(samples["request"]), fmt(samples["cpu"]), fmt(samples["sql"]), f"{queries:>7}"]
    return " ".join([*cells, fmt(samples["template"])])


def fmt(samples: list[float]) -> str:
    med = statistics.median(samples) * 1000
    p90 = statistics.quantiles(samples, n=10)[-1] * 1000
    return f"{med:7.2f} ({p90:6.2f})"


def profile(client, url: str, calls: int = 20) -> None:
    import cProfile
    import pstats

    run: Callable[[], object] = lambda: [client.get(url) for _ in range(calls)]  # noqa: E731
    profiler = cProfile.Profile()
    profiler.runcall(run)
    print(f"\ncProfile of {calls} requests of {url}, by cumulative time:")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)


if __name__ == "__main__":
    sys.exit(main())
