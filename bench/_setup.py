"""What every benchmark shares: environment, Django, databases, the built-in cloud, statistics.

Benchmarks are standalone scripts (`.venv/bin/python bench/<name>.py`), never part of the test
suite. They import this module first (it puts the repository root on `sys.path`), then call
`configure()` before importing anything from Django or the app.
"""

import atexit
import os
import platform
import shlex
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Like tests/settings.py: what a run needs that production settings do not default.
ENV_DEFAULTS = {
    "SECRET_KEY": "bench-secret-key-that-is-long-enough-for-django-checks-0123456789",
    "CREDENTIALS_KEY": "n0rKcWpBOyxPjGlpDyb7gbzGb8sAfc3WWG0kT3m8lJk=",
    "LEDGER_SIGNING_KEY": "Vk9WkEf0pPu0RX8yJ9vIb1MG3Pa0vE2C4GchZy9a8Vs=",
    "HTTPS": "0",
    "CACHE_URL": "locmemcache://",
    "EMAIL_URL": "memorymail://",
    "TASKS_IMMEDIATE": "1",
    "LOG_LEVEL": "WARNING",
    "STATICFILES_STORAGE": "django.contrib.staticfiles.storage.StaticFilesStorage",
}
PG_BENCH_URL = "postgres://postgres@127.0.0.1:5432/sharing_bench"

# The built-in cloud's cast, as in tests/conftest.py.
ACME, GLOBEX, INITECH = "100001", "100002", "100003"
CLOUD_API_KEY = "demo-api-key"


def configure(database_url: str) -> None:
    """Set the environment and start Django with `sharing.settings` on `database_url`."""
    for key, value in ENV_DEFAULTS.items():
        os.environ.setdefault(key, value)
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "sharing.settings"
    # As pytest is told in pyproject.toml: no collectstatic has run.
    warnings.filterwarnings("ignore", "No directory at", UserWarning)
    import django

    django.setup()


def sqlite_temp_url() -> str:
    """A fresh SQLite file in a temporary folder, removed when the script ends."""
    folder = tempfile.mkdtemp(prefix="sharing-bench-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return f"sqlite:///{folder}/bench.sqlite3"


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


# PostgreSQL


def _pg_parts(url: str) -> tuple[dict, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        raise SystemExit(f"Not a PostgreSQL URL: {url}")
    name = parts.path.lstrip("/")
    if not name:
        raise SystemExit(f"The URL names no database: {url}")
    server = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "user": parts.username or "postgres",
        "password": parts.password,
        "dbname": "postgres",
    }
    return {k: v for k, v in server.items() if v is not None}, name


def pg_ensure_database(url: str, *, fresh: bool) -> bool:
    """Create the database if missing (dropped first with `fresh`); True when it is new."""
    import psycopg
    from psycopg import sql

    server, name = _pg_parts(url)
    with psycopg.connect(**server, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and not fresh:
            return False
        if exists:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return True


def pg_drop_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    server, name = _pg_parts(url)
    with psycopg.connect(**server, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def pg_database_size(url: str) -> str:
    import psycopg

    server, name = _pg_parts(url)
    with psycopg.connect(**server) as conn:
        row = conn.execute(
            "SELECT pg_size_pretty(pg_database_size(%s)) FROM pg_database WHERE datname = %s",
            (name, name),
        ).fetchone()
    return row[0] if row else "(no database)"


# The app's cast


def builtin_cloud():
    """The built-in cloud in memory, wired in-process as tests/conftest.py does.

    Returns (state, app). Requests for settings.FAKE_CLOUD_URL reach the app in-process.
    """
    from django.conf import settings

    from builtin_cloud import FakeCloudApp
    from sharing import clouds

    state = new_cloud_state()
    app = FakeCloudApp(state, settings.FAKE_CLOUD_URL)
    clouds.use_builtin_cloud(app)
    return state, app


def new_cloud_state():
    from builtin_cloud import CloudState

    state = CloudState(":memory:")
    for tenant, name in [(ACME, "Acme"), (GLOBEX, "Globex"), (INITECH, "Initech")]:
        state.add_account(tenant, name)
        state.add_user(
            f"{name.lower()}-admin", tenant, api_key=CLOUD_API_KEY, password="demo-cloud-password"
        )
    return state


def make_team(slug: str = "acme", identity_url: str | None = None):
    """The team of tests/conftest.py (acme-admin's API key), reused when it exists."""
    from django.conf import settings

    from sharing.models import AuthKind, Team

    team = Team.objects.filter(slug=slug).first()
    if team is not None:
        return team
    team = Team(
        name=slug.capitalize(),
        slug=slug,
        auth_kind=AuthKind.RACKSPACE_APIKEY,
        identity_url=identity_url or f"{settings.FAKE_CLOUD_URL}/identity",
        username="acme-admin",
        tenant_id=ACME,
        regions=["IAD", "DFW"],
        default_region="IAD",
    )
    team.set_secret(CLOUD_API_KEY)
    team.save()
    return team


def make_member(team, username: str, role: str = "admin"):
    """A user with a role in the team, reused when it exists."""
    from django.contrib.auth.models import User

    from sharing.models import Membership

    user = User.objects.filter(username=username).first()
    if user is None:
        user = User.objects.create_user(username, f"{username}@example.com", None)
    Membership.objects.get_or_create(user=user, team=team, defaults={"role": role})
    return user


# Measuring and reporting


def timed(fn: Callable[[], object], *, reps: int, warmup: int = 2) -> list[float]:
    """Seconds per call of `fn`, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(reps):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def summary(samples: list[float], scale: float = 1000.0, unit: str = "ms") -> str:
    """'median X unit (min A, max B, n=N)' of samples in seconds, scaled to the unit."""
    med, low, high = (scale * f(samples) for f in (statistics.median, min, max))
    return f"median {med:.2f} {unit} (min {low:.2f}, max {high:.2f}, n={len(samples)})"


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def command_line() -> str:
    script = os.path.relpath(os.path.abspath(sys.argv[0]), ROOT)
    return shlex.join([".venv/bin/python", script, *sys.argv[1:]])


def code_version() -> str:
    """The commit measured, and whether the working tree had changes (read-only git calls)."""
    import subprocess

    def git(*argv: str) -> str:
        done = subprocess.run(["git", *argv], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown commit"
    changed = [
        line
        for line in git("status", "--porcelain").splitlines()
        if not line[3:].startswith("bench/")
    ]
    return commit + (f" + uncommitted changes in {len(changed)} files" if changed else "")


def header(title: str) -> None:
    """The benchmark's name, the command that produced the figures, and the machine."""
    print(f"# {title}")
    print(f"command: {command_line()}  (from {ROOT})")
    print(f"code: {code_version()}")
    print(
        f"machine: {os.cpu_count()} cores, {platform.machine()}, Linux {platform.release()}, "
        f"Python {platform.python_version()}; run {time.strftime('%Y-%m-%d %H:%M %Z')}"
    )
    print()
