"""History pages and the CSV export over 1,000,000 ledger entries, on PostgreSQL.

Fills a dedicated database (default postgres://postgres@127.0.0.1:5432/sharing_bench, or
$BENCH_DATABASE_URL, or --database-url) with one team's completed ledger entries, spread over
the past year, by COPY; a database already filled the same way is reused unless --fresh.
Then, in-process with the Django test client and a logged-in admin of the team, it times
(server side: the request only, after warm-up) the first history page and the page 10,000 pages
deep (keyset: the `before` cursor of page 10,001 comes from one SQL query), without and with
filters; and, in a subprocess that consumes `streaming_content` and discards it, the CSV export
of every entry: total time, time to first byte and peak memory.

    .venv/bin/python bench/history.py [--fresh] [--rows 1000000] [--reps 10] [--explain]
    .venv/bin/python bench/history.py --drop        # drop the bench database and stop
"""

import argparse
import itertools
import json
import math
import os
import random
import shlex
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import _setup

TEAM = "bench-history"
ADMIN = "bench-admin"
PAGE = 50
DEPTH = 10_000  # pages skipped: the deep page is page 10,001
SEED = 20261127

# Shares dominate; then what follows them (revokes, expiries) and the request workflow.
ACTIONS = {
    "share": 0.56,
    "revoke": 0.12,
    "request": 0.08,
    "approve": 0.06,
    "expire": 0.06,
    "accept": 0.05,
    "make_shared": 0.02,
    "reject_request": 0.015,
    "reject": 0.01,
    "cancel": 0.01,
    "drift": 0.01,
    "pending": 0.005,
}
SYSTEM_ACTIONS = {"expire", "drift"}
OUTCOMES = {"succeeded": 0.92, "failed": 0.065, "unknown": 0.015}
SUCCESS_STATUS = {"share": 200, "revoke": 204, "make_shared": 200, "expire": 204}
FAILURES = [
    (403, "You are not authorized to complete add_member action."),
    (404, "No image found with ID"),
    (413, "Image member limit exceeded: Attempted: 129, Maximum: 128"),
    (429, "The client has sent too many requests in a given amount of time."),
    (503, "The server is currently unavailable. Please try again at a later time."),
]
REGIONS = {"IAD": 0.5, "DFW": 0.3, "ORD": 0.2}
DISTROS = ["Ubuntu 24.04", "Ubuntu 22.04", "Debian 12", "Rocky 9", "Alpine 3.20", "Windows 2022"]
ROLES = ["web", "app", "db", "ci-runner", "edge", "batch", "gpu", "bastion"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_url = os.environ.get("BENCH_DATABASE_URL", _setup.PG_BENCH_URL)
    parser.add_argument("--database-url", default=default_url)
    parser.add_argument("--fresh", action="store_true", help="drop and refill the database")
    parser.add_argument("--drop", action="store_true", help="drop the database and stop")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=10, help="timed requests per page")
    parser.add_argument("--csv-reps", type=int, default=3, help="timed CSV exports")
    parser.add_argument("--no-tracemalloc", action="store_true", help="skip the traced export")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE slow queries")
    parser.add_argument("--csv-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tracemalloc", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.csv_child:
        return csv_child(args)
    if args.drop:
        print(f"{args.database_url}: {_setup.pg_database_size(args.database_url)}, dropping")
        _setup.pg_drop_database(args.database_url)
        return 0

    created = _setup.pg_ensure_database(args.database_url, fresh=args.fresh)
    _setup.configure(args.database_url)
    _setup.header("history: history pages and CSV export over a large ledger (PostgreSQL)")
    _setup.migrate()

    from django.db import connection

    team = _setup.make_team(TEAM)
    admin = _setup.make_member(team, ADMIN, "admin")
    count = _count(team)
    if count == 0:
        fill(team, args.rows)
        count = _count(team)
    elif count != args.rows:
        print(f"The database holds {count} entries for {TEAM}, not {args.rows}: use --fresh.")
        return 2
    else:
        print(f"Reusing {args.database_url}: {count:,} entries already there.")
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        version = cursor.fetchone()[0].split(" on ")[0]
        cursor.execute("SHOW shared_buffers")
        buffers = cursor.fetchone()[0]
        cursor.execute("SHOW work_mem")
        work_mem = cursor.fetchone()[0]
    print(
        f"database: {args.database_url} ({'created now' if created else 'existing'}), "
        f"{_setup.pg_database_size(args.database_url)}; {version}, "
        f"shared_buffers {buffers}, work_mem {work_mem}"
    )
    print(f"ledger: {count:,} completed entries of team {TEAM!r}")
    print()

    pages(team, admin, args)
    print()
    export(args, count)
    print()
    drop = ["--drop"] + (
        ["--database-url", args.database_url] if args.database_url != _setup.PG_BENCH_URL else []
    )
    print(f"The bench database stays for reuse ({_setup.pg_database_size(args.database_url)});")
    print(f"drop it with: {shlex.join(['.venv/bin/python', 'bench/history.py', *drop])}")
    return 0


def _count(team) -> int:
    from sharing.models import LedgerEntry

    return LedgerEntry.objects.filter(team=team).count()


# Filling


def fill(team, rows: int) -> None:
    """COPY `rows` completed entries of `team`, oldest first, spread over the past year."""
    from django.db import connection

    from sharing.models import LedgerEntry

    rng = random.Random(SEED)
    started = time.perf_counter()
    actors = [_setup.make_member(team, f"user{n:02}", "member") for n in range(1, 31)]
    actor_weights = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(actors))))
    tenants = [str(rng.randrange(100100, 999999)) for _ in range(5000)]
    tenant_weights = list(itertools.accumulate(1 / (rank + 1) ** 0.9 for rank in range(5000)))
    images = [
        (str(uuid.UUID(int=rng.getrandbits(128), version=4)), f"{d} {r} v{n}")
        for n, (d, r) in enumerate(itertools.product(DISTROS * 100, ROLES))
    ][:3000]
    image_weights = list(itertools.accumulate(1 / (rank + 1) ** 0.8 for rank in range(3000)))

    end = datetime.now(UTC)
    year = 365 * 86400.0
    offsets = sorted(rng.random() * year for _ in range(rows))
    columns = [
        "created_at", "team_id", "actor_id", "actor_name", "action", "region", "image_id",
        "image_name", "tenant", "note", "outcome", "http_status", "request_id", "message",
        "completed_at",
    ]  # fmt: skip
    table = LedgerEntry._meta.db_table
    batch = 100_000
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor, for COPY
        for start in range(0, rows, batch):
            n = min(batch, rows - start)
            actions = rng.choices(list(ACTIONS), weights=list(ACTIONS.values()), k=n)
            outcomes = rng.choices(list(OUTCOMES), weights=list(OUTCOMES.values()), k=n)
            regions = rng.choices(list(REGIONS), weights=list(REGIONS.values()), k=n)
            who = rng.choices(actors, cum_weights=actor_weights, k=n)
            whom = rng.choices(tenants, cum_weights=tenant_weights, k=n)
            what = rng.choices(images, cum_weights=image_weights, k=n)
            with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for i in range(n):
                    created = end - timedelta(seconds=year - offsets[start + i])
                    action, outcome = actions[i], outcomes[i]
                    actor = None if action in SYSTEM_ACTIONS else who[i]
                    status, message = _answer(rng, action, outcome)
                    copy.write_row(
                        (
                            created,
                            team.pk,
                            actor.pk if actor else None,
                            actor.username if actor else "system",
                            action,
                            regions[i],
                            what[i][0],
                            what[i][1],
                            whom[i],
                            f"ticket OPS-{rng.randrange(1000, 9999)}" if rng.random() < 0.1 else "",
                            outcome,
                            status,
                            "" if status is None else f"req-{uuid.uuid4()}",
                            message,
                            created + timedelta(milliseconds=rng.randrange(80, 2500)),
                        )
                    )
            print(f"  filled {start + n:>9,} entries, {time.perf_counter() - started:6.1f} s")
        copied = time.perf_counter() - started
        cursor.execute(f"VACUUM ANALYZE {table}")
    print(
        f"filled {rows:,} entries by COPY in {copied:.1f} s, "
        f"VACUUM ANALYZE {time.perf_counter() - started - copied:.1f} s"
    )


def _answer(rng: random.Random, action: str, outcome: str) -> tuple[int | None, str]:
    if outcome == "unknown":
        return None, "The connection to the cloud failed. The next sync will tell."
    if outcome == "failed":
        return rng.choice(FAILURES)
    if action == "share" and rng.random() < 0.03:
        return 409, "Already shared (accepted)."
    return SUCCESS_STATUS.get(action, 200), ""


# Pages


def pages(team, admin, args) -> None:
    from django.db import connection
    from django.db.models import Count
    from django.http import QueryDict
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from sharing import selectors
    from sharing.forms import HistoryFilterForm
    from sharing.models import LedgerEntry

    client = Client(HTTP_HOST="localhost")  # no setup_test_environment: no render signals
    client.force_login(admin)
    top_tenant = (
        LedgerEntry.objects.filter(team=team)
        .values_list("tenant", flat=True)
        .annotate(n=Count("id"))
        .order_by("-n")[:1]
        .get()
    )
    half_year_ago = (datetime.now(UTC) - timedelta(days=183)).date()
    cases = [
        ("no filter", ""),
        ("action=share", "action=share"),
        ("member=<busiest tenant>", f"member={top_tenant}"),
        ("until=<6 months ago>", f"until={half_year_ago}"),
    ]
    base = f"/t/{team.slug}/history/"
    rows = []
    plans = []
    print(f"history pages ({PAGE} entries), {args.reps} timed requests each after 2 warm-ups:")
    for label, query in cases:
        form = HistoryFilterForm(QueryDict(query))
        assert form.is_valid(), form.errors
        entries = selectors.history_entries(team=team, filters=form.cleaned_data)
        page_no, before = _deep_cursor(entries)
        sep = "&" if query else ""
        first_url = base + (f"?{query}" if query else "")
        deep_url = f"{base}?{query}{sep}before={before}" if before else first_url
        measured = []
        for which, url, cursor in [("first", first_url, None), ("deep", deep_url, before)]:
            samples = _setup.timed(lambda url=url: _get(client, url), reps=args.reps, warmup=2)
            # The keyset query alone (selectors.history_page), without the rest of the view.
            alone = _setup.timed(
                lambda qs=entries, cursor=cursor: selectors.history_page(qs, before=cursor),
                reps=args.reps,
                warmup=2,
            )
            with CaptureQueriesContext(connection) as queries:
                response = _get(client, url)
            shown = response.text.count("<tr>") - 1  # minus the header row
            page_sql = [
                q["sql"] for q in queries.captured_queries if f"LIMIT {PAGE + 1}" in q["sql"]
            ]
            plans.append((f"{label}, {which} page", page_sql[0] if page_sql else None))
            measured.append((samples, alone))
            name = "first" if cursor is None else f"page {page_no:,}"
            print(f"  {label:26} {name:12} request {_setup.summary(samples)}")
            print(f"  {'':26} {'':12} history_page() alone {_setup.summary(alone)}")
            print(
                f"  {'':26} {'':12} {_sql_summary(queries.captured_queries)}; {shown} rows; {url}"
            )
        rows.append((label, page_no, *measured))
    chart = _setup.timed(lambda: selectors.activity_chart(team=team), reps=args.reps, warmup=2)
    print(f"  activity_chart(), cached (first page only): {_setup.summary(chart)}")
    from django.utils import timezone

    today = timezone.localdate()
    computed = _setup.timed(
        lambda: selectors._activity_chart(team, today), reps=args.reps, warmup=1
    )
    print(f"  the chart computed, once per team every 5 minutes: {_setup.summary(computed)}")
    print()
    print(
        f"  {'filter':26} {'deep page':>10} {'request: first':>15} {'deep':>9} {'deep/first':>10}"
        f"   {'page query: first':>17} {'deep':>8} {'deep/first':>10}"
    )
    for label, page_no, (first, first_alone), (deep, deep_alone) in rows:
        f, d, fa, da = map(_setup.median, (first, deep, first_alone, deep_alone))
        print(
            f"  {label:26} {page_no:>10,} {f * 1000:>12.1f} ms {d * 1000:>6.1f} ms {d / f:>9.2f}x"
            f"   {fa * 1000:>14.1f} ms {da * 1000:>5.1f} ms {da / fa:>9.2f}x"
        )
    print("  (medians; target: deep/first within 1.5x)")
    if args.explain:
        plans.append(("activity chart", _chart_sql(team)))
        print()
        print("EXPLAIN (ANALYZE, BUFFERS), one run each:")
        with connection.cursor() as cursor:
            for label, sql in plans:
                if sql is None:
                    continue
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                print(f"--- {label}: SELECT …{sql[sql.index(' FROM ') :]}")
                for (line,) in cursor.fetchall():
                    print("    " + line)


def _chart_sql(team) -> str:
    """The query of selectors.activity_chart, as the view runs it."""
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from sharing import selectors

    cache.clear()  # the chart is cached: clear it so that its query runs
    with CaptureQueriesContext(connection) as queries:
        selectors.activity_chart(team=team)
    return next(q["sql"] for q in queries.captured_queries if "GROUP BY" in q["sql"])


def _get(client, url: str):
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response


def _deep_cursor(entries) -> tuple[int, int | None]:
    """(page number, `before`) of page 10,001, or of the last page when there are fewer.

    One query: the id of the last entry of page 10,000 (`before` takes ids below it).
    """
    offset = DEPTH * PAGE - 1
    found = list(entries.values_list("id", flat=True)[offset : offset + 1])
    if found:
        return DEPTH + 1, found[0]
    last_page = max(1, math.ceil(entries.count() / PAGE))
    if last_page == 1:
        return 1, None
    offset = (last_page - 1) * PAGE - 1
    return last_page, entries.values_list("id", flat=True)[offset]


def _sql_summary(captured: list[dict]) -> str:
    total = sum(float(q["time"]) for q in captured)
    slow = max(captured, key=lambda q: float(q["time"]))
    kind = (
        "activity chart"
        if "GROUP BY" in slow["sql"]
        else "page"
        if f"LIMIT {PAGE + 1}" in slow["sql"]
        else "other"
    )
    return (
        f"{len(captured)} queries, SQL {total * 1000:.1f} ms; "
        f"slowest {float(slow['time']) * 1000:.1f} ms ({kind})"
    )


# The CSV export, measured in a subprocess of its own


def export(args, count: int) -> None:
    runs = []
    print(f"CSV export of all {count:,} entries, each in a fresh subprocess:")
    plan = [False] * args.csv_reps + ([] if args.no_tracemalloc else [True])
    for traced in plan:
        command = [
            sys.executable,
            os.path.abspath(__file__),
            "--csv-child",
            "--database-url",
            args.database_url,
            *(["--tracemalloc"] if traced else []),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(done.stdout, done.stderr)
            raise SystemExit("The CSV subprocess failed.")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        assert result["rows"] == count, result
        mb = {key: value / 1024 for key, value in result.items() if key.endswith("_kb")}
        print(
            f"  {'traced ' if traced else ''}run: {result['seconds']:.2f} s total, "
            f"first byte after {result['first_byte'] * 1000:.0f} ms, "
            f"{result['bytes'] / 1e6:.0f} MB in {result['chunks']:,} chunks"
        )
        print(
            f"    RSS before the request {mb['rss_before_kb']:.1f} MB; peak RSS during it "
            f"{mb['hwm_after_kb']:.1f} MB (+{mb['hwm_after_kb'] - mb['rss_before_kb']:.1f} MB"
            f"{', VmHWM reset before the request' if result['hwm_reset'] else ''}); "
            f"RSS sampled every 1,000 rows: max {mb['rss_sampled_max_kb']:.1f} MB; "
            f"ru_maxrss {mb['maxrss_before_kb']:.1f} MB before, {mb['maxrss_after_kb']:.1f} MB "
            "after"
            + (
                f"; tracemalloc peak {result['traced_peak'] / 1e6:.1f} MB"
                if result.get("traced_peak") is not None
                else ""
            )
        )
        if not traced:
            runs.append(result)
    if runs:
        seconds = [r["seconds"] for r in runs]
        growth = [(r["hwm_after_kb"] - r["rss_before_kb"]) / 1024 for r in runs]
        print(
            f"  untraced: {_setup.summary(seconds, 1, 's')} total; "
            f"{count / _setup.median(seconds):,.0f} rows/s; "
            f"first byte median {_setup.median([r['first_byte'] for r in runs]) * 1000:.0f} ms; "
            f"peak RSS during the request at most {max(r['hwm_after_kb'] for r in runs) / 1024:.1f}"
            f" MB, {max(growth):.1f} MB above the RSS before it"
        )
    print(
        "  (ru_maxrss of a child also counts its parent's RSS when it was spawned, kept across "
        "exec; VmHWM, reset through /proc/self/clear_refs, is the peak of the export alone)"
    )


def _status_kb(field: str) -> int:
    """A memory figure of this process from /proc/self/status, in kB (VmRSS, VmHWM)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux 4.0+: write 5 to clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def csv_child(args) -> int:
    import gc
    import resource
    import tracemalloc

    _setup.configure(args.database_url)
    from django.test import Client

    from sharing.models import Team

    client = Client(HTTP_HOST="localhost")
    client.force_login(_user(ADMIN))
    url = f"/t/{Team.objects.get(slug=TEAM).slug}/history.csv"
    # Warm-up: the same code path on a handful of rows, so imports are not counted.
    warm = client.get(url + "?member=000000")
    b"".join(warm.streaming_content)
    gc.collect()

    hwm_reset = _reset_peak_rss()
    rss_before = _status_kb("VmRSS")
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if args.tracemalloc:
        tracemalloc.start()
    started = time.perf_counter()
    response = client.get(url)
    assert response.status_code == 200 and response.streaming, response
    first_byte = None
    size = chunks = lines = 0
    sampled = rss_before
    for chunk in response.streaming_content:
        if first_byte is None:
            first_byte = time.perf_counter() - started
        size += len(chunk)
        lines += chunk.count(b"\n")  # the bench's entries hold no line breaks
        chunks += 1
        if chunks % 10 == 0:
            sampled = max(sampled, _status_kb("VmRSS"))
    response.close()
    seconds = time.perf_counter() - started
    traced_peak = tracemalloc.get_traced_memory()[1] if args.tracemalloc else None
    sampled = max(sampled, _status_kb("VmRSS"))
    result = {
        "seconds": seconds,
        "first_byte": first_byte,
        "bytes": size,
        "chunks": chunks,
        "rows": lines - 1,  # after the header
        "hwm_reset": hwm_reset,
        "rss_before_kb": rss_before,
        "rss_sampled_max_kb": sampled,
        # VmHWM lags a little behind sampled VmRSS: the peak is the larger of the two.
        "hwm_after_kb": max(_status_kb("VmHWM"), sampled),
        "maxrss_before_kb": maxrss_before,
        "maxrss_after_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "traced_peak": traced_peak,
    }
    print(json.dumps(result))
    return 0


def _user(username: str):
    from django.contrib.auth.models import User

    return User.objects.get(username=username)


if __name__ == "__main__":
    sys.exit(main())
