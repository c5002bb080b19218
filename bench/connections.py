"""Requests per second of `/healthz` and the images page, with and without persistent database
connections (`CONN_MAX_AGE`), behind a real gunicorn on 127.0.0.1 and PostgreSQL.

The database `sharing_bench_conn` (or `--database-url`) is dropped, created and migrated, then
filled by `seed_demo` (team acme on the built-in cloud, kept in a temporary SQLite file). For
each `CONN_MAX_AGE` in turn, gunicorn serves the app (`--workers`, sync workers, as the
Procfile), `--clients` threads each with their own keep-alive session and a logged-in alice
request one URL as fast as they can for `--seconds`, after a short warm-up; the count of 200s
over the time is the figure. Each setting runs `--rounds` times, alternating, and the median is
reported.

    .venv/bin/python bench/connections.py [--seconds 8] [--rounds 3] [--clients 4]
"""

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import _setup

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/sharing_bench_conn"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(env: dict, *argv: str) -> None:
    subprocess.run([sys.executable, "manage.py", *argv], cwd=_setup.ROOT, env=env, check=True)


def serve(env: dict, workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"), "sharing.wsgi",
            "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
        ],
        cwd=_setup.ROOT, env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    import requests

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/healthz", timeout=10).status_code == 200:
                return process, base
        except requests.RequestException:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not answer /healthz within a minute")


def logged_in_session(base: str):
    import requests

    session = requests.Session()
    page = session.get(f"{base}/accounts/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = session.post(
        f"{base}/accounts/login/",
        {"username": "alice", "password": "bench-password", "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}/accounts/login/"},
        timeout=10,
    )
    if "/t/acme/" not in answer.url:
        raise SystemExit(f"Could not log in: ended at {answer.url}")
    return session


def load(base: str, path: str, *, clients: int, seconds: float) -> tuple[float, int]:
    """Requests per second answered 200, and how many answers were not 200."""
    sessions = [logged_in_session(base) for _ in range(clients)]
    for session in sessions:  # warm-up: every worker connects, the cloud token is cached
        for _ in range(3):
            session.get(base + path, timeout=30)
    counts = [[0, 0] for _ in sessions]
    stop = time.perf_counter() + seconds

    def hammer(session, count):
        while time.perf_counter() < stop:
            ok = session.get(base + path, timeout=30).status_code == 200
            count[0 if ok else 1] += 1

    started = time.perf_counter()
    threads = [
        threading.Thread(target=hammer, args=pair) for pair in zip(sessions, counts, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return sum(c[0] for c in counts) / elapsed, sum(c[1] for c in counts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_CONN_DATABASE_URL"))
    parser.add_argument("--seconds", type=float, default=8.0, help="load per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per setting")
    parser.add_argument("--clients", type=int, default=4, help="concurrent client threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--ages", default="0,600", help="CONN_MAX_AGE values to compare")
    args = parser.parse_args()
    url = args.database_url or DEFAULT_URL

    _setup.header("connections: requests per second with and without persistent connections")
    _setup.pg_ensure_database(url, fresh=True)
    folder = tempfile.mkdtemp(prefix="sharing-bench-conn-")
    env = {
        **os.environ,
        **_setup.ENV_DEFAULTS,
        "DATABASE_URL": url,
        "DEMO": "1",
        "DEMO_PASSWORD": "bench-password",
        "TASKS_IMMEDIATE": "1",
        "FAKE_CLOUD_DB": f"{folder}/fakecloud.sqlite3",
        "AXES_FAILURE_LIMIT": "1000",
    }
    env.pop("CONN_MAX_AGE", None)
    run(env, "migrate", "--no-input", "-v", "0")
    run(env, "seed_demo")

    paths = ["/healthz", "/t/acme/images/"]
    ages = [int(age) for age in args.ages.split(",")]
    results: dict[tuple[str, int], list[float]] = {}
    errors = 0
    for round_ in range(args.rounds):
        for age in ages if round_ % 2 == 0 else ages[::-1]:
            process, base = serve({**env, "CONN_MAX_AGE": str(age)}, args.workers)
            try:
                for path in paths:
                    rate, failed = load(base, path, clients=args.clients, seconds=args.seconds)
                    results.setdefault((path, age), []).append(rate)
                    errors += failed
                    print(
                        f"round {round_ + 1}, CONN_MAX_AGE={age:>4}, {path:<16} {rate:8.1f} req/s"
                    )
            finally:
                process.terminate()
                process.wait(timeout=30)

    print()
    print(f"median of {args.rounds} rounds, {args.clients} clients, {args.workers} workers:")
    print(f"| path | {' | '.join(f'CONN_MAX_AGE={age}' for age in ages)} | ratio |")
    print(f"|---|{'---|' * len(ages)}---|")
    for path in paths:
        rates = [statistics.median(results[(path, age)]) for age in ages]
        cells = " | ".join(f"{rate:.1f} req/s" for rate in rates)
        print(f"| `{path}` | {cells} | {rates[-1] / rates[0]:.2f}× |")
    print(f"answers other than 200: {errors}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
