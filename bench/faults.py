"""The fault campaign: does the ledger tell the truth when the cloud misbehaves?

    .venv/bin/python bench/faults.py [--operations 1000] [--seed 1] [--processes 2]

1. The built-in cloud is served over a socket on 127.0.0.1 (`manage.py fakecloud`, its state in
   an SQLite file) with about 30% of member creates and deletes faulted: errors before and
   after the change, resets, timeouts before and after, late changes, 413 and 429 limits.
2. Two processes (`--processes`) run a seeded mix of operations at once against a fresh
   PostgreSQL database, through the services as the dashboard calls them: single and bulk
   shares, revokes, re-shares, shares to a full image and to unknown images, consumers
   accepting and rejecting, members added and removed outside the dashboard, shares and
   revokes whose process is killed with SIGKILL between the attempt and its outcome, and on
   an image line per process: publishes to its subscribers, channel moves, and retention
   revokes (a version deprecated for today, revoked by the expiry job as the system).
3. The faults are lifted, the late changes land, and the app's own reconciliation runs:
   `manage.py sync_shares --settle-after 0` by two workers at once, until nothing changes.
4. Three-way comparison. The cloud logs every member change it handled with the caller's
   X-OpenStack-Request-ID, which the campaign sets per operation: that is the truth of what
   each attempt did, whatever its client saw. It is compared with the ledger's outcomes, and
   the cloud's members with the Share table.

Prints the table of issue #9 and exits 1 on any operation without a ledger entry, wrong
outcome, unresolved entry without an explanation, record disagreeing with the cloud, or
duplicate create.
"""

import argparse
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import _setup

ROOT = _setup.ROOT
PYTHON = sys.executable
REGION = "IAD"
TENANTS = [f"2000{n:02d}" for n in range(1, 9)]  # the dashboard's partners
FULL_TENANTS = [f"9000{n:02d}" for n in range(1, 13)]  # fill the full image, outside
MEMBER_LIMIT = len(FULL_TENANTS)
IMAGES = 12
# Short timeouts so that a thousand operations with faults take a minute or two.
CLIENT_ENV = {
    "CLOUD_CONNECT_TIMEOUT": "2",
    "CLOUD_READ_TIMEOUT": "1",
    "CLOUD_RETRY_TOTAL_SECONDS": "2",
    "CLOUD_SHARE_CONCURRENCY": "4",
}
STALL_SECONDS = 2.0  # a `timeout` fault holds the connection this long
LATE_SECONDS = 1.5  # a `late` change lands after the client's read timeout and its check
# Each fault fires on its own share of member creates and deletes: about 30% in all.
FAULT_RATE = 0.035
FAULTS = [
    ("error", {"status": 503}),
    ("error", {"status": 502}),
    ("error", {"status": 500, "after": True}),
    ("error", {"status": 503, "after": True}),
    ("reset", {}),
    ("reset", {"after": True}),
    ("timeout", {"seconds": STALL_SECONDS}),
    ("timeout", {"seconds": STALL_SECONDS, "after": True}),
    ("late", {"seconds": LATE_SECONDS}),
    ("rate_limit", {"status": 413}),
    ("rate_limit", {"status": 429}),
]
FAULT_ROUTES = ("member_create", "member_delete")
FAULT_TIMES = 10**9  # counted down as they fire, so the campaign can say how many did
# Operation kinds and their weights.
MIX = {
    "share": 28,
    "bulk share": 9,
    "revoke": 20,
    "re-share": 7,
    "share to full image": 4,
    "share to unknown image": 3,
    "consumer accepts": 4,
    "consumer rejects": 3,
    "added outside": 5,
    "removed outside": 5,
    "killed share": 6,
    "killed revoke": 6,
    "publish": 4,
    "channel move": 3,
    "retention revoke": 3,
}
LINE_IMAGES = 60  # per process: the versions it may publish
LINE_SUBSCRIBERS = 3  # per line, from TENANTS


EITHER = "either"  # see Report._truth
QUIET = "settled nothing to do; records nothing to do"


def tag_of(op: int) -> str:
    """The X-OpenStack-Request-ID an operation's requests carry: req-<uuid>."""
    return f"req-{uuid.UUID(int=op)}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--operations", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL database to create afresh (default faults_<seed> on 127.0.0.1).",
    )
    parser.add_argument("--keep", action="store_true", help="Keep the database and the cloud.")
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--run-dir", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    url = args.database_url or f"postgres://postgres@127.0.0.1:5432/faults_{args.seed}"
    if args.worker is not None:
        return Worker(args, url).run()
    return Campaign(args, url).run()


def _environment(url: str, cloud_db: Path) -> dict[str, str]:
    env = {**os.environ, **_setup.ENV_DEFAULTS, **CLIENT_ENV}
    env.update(DATABASE_URL=url, FAKE_CLOUD_DB=str(cloud_db))
    env["DJANGO_SETTINGS_MODULE"] = "sharing.settings"
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Campaign:
    def __init__(self, args: argparse.Namespace, url: str) -> None:
        self.args = args
        self.url = url
        self.run_dir = Path(tempfile.mkdtemp(prefix="sharing-faults-"))
        self.cloud_db = self.run_dir / "cloud.sqlite3"
        self.port = _free_port()
        self.env = _environment(url, self.cloud_db)

    def run(self) -> int:
        for key, value in self.env.items():
            os.environ[key] = value
        _setup.pg_ensure_database(self.url, fresh=True)
        _setup.configure(self.url)
        _setup.migrate()
        from builtin_cloud import CloudState

        state = CloudState(str(self.cloud_db))
        images = self._seed(state)
        server = subprocess.Popen(
            [PYTHON, "manage.py", "fakecloud", "--port", str(self.port),
             "--db", str(self.cloud_db)],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            self._wait_for_server()
            self._team(images)
            return self._campaign(state, images)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=10)
            if self.args.keep:
                print(f"\nKept: the database {self.url}, the cloud {self.cloud_db}.")
            else:
                from django.db import connections

                connections.close_all()
                _setup.pg_drop_database(self.url)
                for path in self.run_dir.iterdir():
                    path.unlink()
                self.run_dir.rmdir()

    def _seed(self, state) -> dict:
        state.add_account(_setup.ACME, "Acme")
        state.add_user("acme-admin", _setup.ACME, api_key=_setup.CLOUD_API_KEY)
        state.member_limit = MEMBER_LIMIT
        regular = [
            state.create_image(owner=_setup.ACME, region=REGION, name=f"img-{n}",
                               visibility="shared")["id"]
            for n in range(IMAGES)
        ]  # fmt: skip
        full = state.create_image(owner=_setup.ACME, region=REGION, name="full",
                                  visibility="shared")["id"]  # fmt: skip
        for tenant in FULL_TENANTS:
            state.add_member(full, tenant)
        lines = {
            str(worker): [
                state.create_image(owner=_setup.ACME, region=REGION, name=f"line-{worker}-{n}",
                                   visibility="shared")["id"]
                for n in range(LINE_IMAGES)
            ]
            for worker in range(self.args.processes)
        }  # fmt: skip
        images = {"regular": regular, "full": full, "lines": lines}
        (self.run_dir / "images.json").write_text(json.dumps(images))
        return images

    def _wait_for_server(self) -> None:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("The built-in cloud did not start.")

    def _team(self, images: dict) -> None:
        from sharing import services
        from sharing.models import LineSubscriber

        team = _setup.make_team("acme", identity_url=f"http://127.0.0.1:{self.port}/identity")
        for worker in range(self.args.processes):
            user = _setup.make_member(team, f"worker{worker}")
            line = services.line_create(
                team=team, actor=user, name=f"Line {worker}", slug=f"line-{worker}", region=REGION
            )
            first = (worker * LINE_SUBSCRIBERS) % len(TENANTS)
            subscribers = (TENANTS * 2)[first : first + LINE_SUBSCRIBERS]
            LineSubscriber.objects.bulk_create(
                LineSubscriber(line=line, tenant=tenant, added_by=user) for tenant in subscribers
            )

    def _campaign(self, state, images: dict) -> int:
        for route in FAULT_ROUTES:
            for kind, options in FAULTS:
                state.add_fault(kind, route=route, rate=FAULT_RATE, times=FAULT_TIMES, **options)
        started = time.monotonic()
        workers = [
            subprocess.Popen(
                [
                    PYTHON,
                    __file__,
                    "--worker",
                    str(n),
                    "--run-dir",
                    str(self.run_dir),
                    "--operations",
                    str(self.args.operations),
                    "--seed",
                    str(self.args.seed),
                    "--processes",
                    str(self.args.processes),
                    "--database-url",
                    self.url,
                ],
                cwd=ROOT,
                env={**self.env, "CLOUD_PORT": str(self.port)},
            )  # fmt: skip
            for n in range(self.args.processes)
        ]
        codes = [worker.wait() for worker in workers]
        ran = time.monotonic() - started
        if any(codes):
            print(f"A worker failed: exit codes {codes}.")
            return 2
        fired = sum(FAULT_TIMES - (f.times or 0) for f in state.faults())
        state.clear_faults()
        time.sleep(LATE_SECONDS + STALL_SECONDS)  # every late change has landed
        rounds = self._reconcile()
        return Report(self, state, images, fired, ran, rounds).print()

    def _reconcile(self) -> list[list[str]]:
        """`sync_shares` by two workers at once, until a round finds nothing to do."""
        rounds = []
        for _ in range(4):
            syncs = [
                subprocess.Popen(
                    [PYTHON, "manage.py", "sync_shares", "--settle-after", "0"],
                    cwd=ROOT,
                    env=self.env,
                    stdout=subprocess.PIPE,
                    text=True,
                )  # fmt: skip
                for _ in range(2)
            ]
            lines = [sync.communicate()[0].strip() for sync in syncs]
            rounds.append(lines)
            if all(line.endswith(QUIET) for line in lines):
                break
        return rounds


class Worker:
    """One of the processes running operations; logs each one as a JSON line."""

    def __init__(self, args: argparse.Namespace, url: str) -> None:
        self.args = args
        self.index = args.worker
        self.run_dir = Path(args.run_dir)
        self.rng = random.Random(args.seed * 1000 + self.index)
        self.images = json.loads((self.run_dir / "images.json").read_text())

    def run(self) -> int:
        _setup.configure(os.environ["DATABASE_URL"])
        import requests
        from django.contrib.auth.models import User

        from builtin_cloud import CloudState
        from sharing.cloud import http as cloud_http
        from sharing.models import Team

        global _session_class
        _session_class = _tagged_session(requests.Session)
        cloud_http.session_factory = _session_class
        self.cloud = CloudState(os.environ["FAKE_CLOUD_DB"])
        self.team = Team.objects.get(slug="acme")
        self.user = User.objects.get(username=f"worker{self.index}")
        count = self.args.operations // self.args.processes
        if self.index < self.args.operations % self.args.processes:
            count += 1
        kinds, weights = zip(*MIX.items(), strict=True)
        with open(self.run_dir / f"ops-{self.index}.jsonl", "w") as log:
            for n in range(count):
                op = n * self.args.processes + self.index + 1
                kind = self.rng.choices(kinds, weights)[0]
                record = self.operation(op, kind)
                log.write(json.dumps(record) + "\n")
                log.flush()
        return 0

    def _mine(self):
        """This process's entries: its user's, and the system's retention revokes of its line."""
        from django.db.models import Q

        from sharing.models import Action, LedgerEntry

        system = Q(actor=None, action=Action.EXPIRE, line__slug=f"line-{self.index}")
        return LedgerEntry.objects.filter(Q(actor=self.user) | system)

    def operation(self, op: int, kind: str) -> dict:
        last = self._mine().order_by("-id").values_list("id")[:1]
        last_id = last[0][0] if last else 0
        _Tag.value = tag_of(op)
        record = {"op": op, "kind": kind, "worker": self.index}
        try:
            record.update(self._run(kind))
        finally:
            _Tag.value = ""
        record["ended"] = datetime.now(UTC).isoformat()
        record["entries"] = list(self._mine().filter(id__gt=last_id).values_list("id", flat=True))
        return record

    def _run(self, kind: str) -> dict:
        regular = self.images["regular"]
        image = self.rng.choice(regular)
        tenant = self.rng.choice(TENANTS)
        if kind == "share":
            return self._share(image, [tenant])
        if kind == "bulk share":
            return self._share(image, self.rng.sample(TENANTS, self.rng.randint(2, 5)))
        if kind == "re-share":
            image, tenant = self._revoked() or (image, tenant)
            return self._share(image, [tenant])
        if kind == "share to full image":
            return self._share(self.images["full"], [tenant])
        if kind == "share to unknown image":
            return self._share(str(uuid.UUID(int=self.rng.getrandbits(128))), [tenant])
        if kind == "revoke":
            listed = self._active()
            return self._revoke(*listed) if listed else self._share(image, [tenant])
        if kind in ("consumer accepts", "consumer rejects"):
            members = self.cloud.members(image)
            if not members:
                return {"image": image, "tenants": [], "result": "no member"}
            member = self.rng.choice(members)
            status = "accepted" if kind == "consumer accepts" else "rejected"
            self.cloud.set_member_status(member, status)
            self._outside("member_update", image, member.member_id, 200)
            return {"image": image, "tenants": [member.member_id], "result": status}
        if kind == "added outside":
            with self.cloud.transaction():
                found = self.cloud.member(image, tenant)
                if not found:
                    self.cloud.insert_member(image, tenant)
                self._outside("member_create", image, tenant, 409 if found else 200)
            return {"image": image, "tenants": [tenant], "result": "added"}
        if kind == "removed outside":
            with self.cloud.transaction():
                found = self.cloud.member(image, tenant)
                if found:
                    self.cloud.delete_member(found)
                self._outside("member_delete", image, tenant, 204 if found else 404)
            return {"image": image, "tenants": [tenant], "result": "removed" if found else "none"}
        if kind in ("publish", "channel move", "retention revoke"):
            return self._line_op(kind) or self._share(image, [tenant])
        if kind == "killed share":
            return self._killed(lambda: self._share(image, [tenant]), image, tenant)
        if kind == "killed revoke":
            image, tenant = self._active() or (image, tenant)
            if not self.cloud.member(image, tenant):
                return self._killed(lambda: self._share(image, [tenant]), image, tenant)
            return self._killed(lambda: self._revoke(image, tenant), image, tenant)
        raise ValueError(kind)

    # The image line of this process

    def _line(self):
        from sharing.models import Line

        return Line.objects.get(team=self.team, slug=f"line-{self.index}")

    def _line_op(self, kind: str) -> dict | None:
        """A line operation; a publish where there is nothing to move or revoke yet, and None
        (a plain share instead) once every image of the line's pool is published."""
        done = {"channel move": self._channel_move, "retention revoke": self._retention}
        return (done[kind]() if kind in done else None) or self._publish()

    def _publish(self) -> dict | None:
        from sharing import services
        from sharing.cloud import CloudError

        line = self._line()
        published = set(line.versions.values_list("image_id", flat=True))
        fresh = [i for i in self.images["lines"][str(self.index)] if i not in published]
        if not fresh:
            return None
        tenants = list(line.subscribers.values_list("tenant", flat=True))
        try:
            result = services.line_publish(line=line, actor=self.user, image_id=fresh[0])
        except CloudError as error:
            return {"image": fresh[0], "tenants": tenants, "result": type(error).__name__}
        return {"image": fresh[0], "tenants": tenants, "version": result.version.number,
                "result": [o.outcome for o in result.outcomes]}  # fmt: skip

    def _channel_move(self) -> dict | None:
        from sharing import services

        versions = list(self._line().versions.exclude(state="retired"))
        if not versions:
            return None
        version = self.rng.choice(versions)
        services.channel_move(
            line=self._line(), actor=self.user, name="stable", image_id=version.image_id,
            note=f"campaign {_Tag.value}",
        )  # fmt: skip
        return {"image": version.image_id, "tenants": [], "result": f"stable → v{version.number}"}

    def _retention(self) -> dict | None:
        """Deprecate the oldest active version for today; the expiry job revokes it."""
        from django.utils import timezone

        from sharing import services
        from sharing.models import Share

        line = self._line()
        active = list(line.versions.filter(state="active").order_by("number"))
        if len(active) < 2:
            return None
        oldest, newest = active[0], active[-1]
        today = timezone.localdate(timezone=self.team.zone)
        services.version_deprecate(
            version=oldest, actor=self.user, replacement_image_id=newest.image_id, revoke_on=today
        )
        tenants = list(
            Share.objects.filter(image_id=oldest.image_id, revoked_at=None)
            .values_list("tenant", flat=True)
        )  # fmt: skip
        revoked, failed = services.lines_expire(team=self.team, today=today, line=line)
        return {"image": oldest.image_id, "tenants": tenants, "version": oldest.number,
                "result": f"{revoked} revoked, {failed} failed"}  # fmt: skip

    def _outside(self, route: str, image: str, tenant: str, status: int) -> None:
        """Log a change made outside the dashboard, as the cloud logs the ones it handles."""
        self.cloud.log_member_call(route, image, tenant, status, f"outside {_Tag.value}")

    def _active(self) -> tuple[str, str] | None:
        """A member to revoke, as the image page offers them: one the cloud lists now."""
        for image in self.rng.sample(self.images["regular"], 5):
            members = self.cloud.members(image)
            if members:
                return image, self.rng.choice(members).member_id
        return None

    def _revoked(self) -> tuple[str, str] | None:
        from sharing.models import Share

        # The regular images only: a line's versions are shared by the line.
        rows = list(
            Share.objects.filter(
                team=self.team, revoked_at__isnull=False, image_id__in=self.images["regular"]
            )
            .values_list("image_id", "tenant")
            .distinct()
        )
        return self.rng.choice(rows) if rows else None

    def _share(self, image: str, tenants: list[str]) -> dict:
        from sharing import services
        from sharing.cloud import CloudError

        try:
            outcomes = services.image_share(
                team=self.team, actor=self.user, region=REGION, image_id=image, tenants=tenants
            )
        except CloudError as error:
            return {"image": image, "tenants": tenants, "result": type(error).__name__}
        return {"image": image, "tenants": tenants, "result": [o.outcome for o in outcomes]}

    def _revoke(self, image: str, tenant: str) -> dict:
        from sharing import services
        from sharing.cloud import CloudError

        try:
            services.share_revoke(
                team=self.team, actor=self.user, region=REGION, image_id=image, tenant=tenant
            )
        except CloudError as error:
            return {"image": image, "tenants": [tenant], "result": type(error).__name__}
        return {"image": image, "tenants": [tenant], "result": "revoked"}

    def _killed(self, action, image: str, tenant: str) -> dict:
        """Run `action` in a forked process that SIGKILLs itself at its member call: before
        the request leaves, or once it was sent (answered or not)."""
        from django.db import connections

        from sharing.cloud import http as cloud_http

        moment = self.rng.choice(["before", "after"])
        connections.close_all()  # the child opens its own
        pid = os.fork()
        if pid == 0:
            # Fresh sessions: the parent's connections stay the parent's.
            cloud_http.session_factory = _tagged_session(_session_class, kill=moment)
            try:
                action()
            finally:
                os._exit(0)
        _, status = os.waitpid(pid, 0)
        killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        return {"image": image, "tenants": [tenant], "result": f"killed {moment}" if killed
                else "finished"}  # fmt: skip


class _Tag:
    value = ""  # the current operation's request id; one operation at a time per process


_session_class = None


def _tagged_session(base, kill: str | None = None):
    """A requests Session that sends the operation's X-OpenStack-Request-ID, and with `kill`,
    SIGKILLs its own process at a member create or delete (`before` sending it, or `after`)."""

    class TaggedSession(base):
        def request(self, method, url, *args, headers=None, **kwargs):
            headers = dict(headers or {})
            if _Tag.value:
                headers["X-OpenStack-Request-ID"] = _Tag.value
            member_change = method.upper() in ("POST", "DELETE") and "/members" in url
            if kill == "before" and member_change:
                os.kill(os.getpid(), signal.SIGKILL)
            try:
                return super().request(method, url, *args, headers=headers, **kwargs)
            finally:
                if kill == "after" and member_change:
                    os.kill(os.getpid(), signal.SIGKILL)

    return TaggedSession


class Report:
    """The three-way comparison: the cloud's log and members, the ledger, the Share table."""

    def __init__(self, campaign, state, images, fired, ran, rounds) -> None:
        from sharing.models import Action, LedgerEntry, Share

        self.campaign = campaign
        self.state = state
        self.images = images
        self.fired = fired
        self.ran = ran
        self.rounds = rounds
        self.ops = []
        for path in sorted(campaign.run_dir.glob("ops-*.jsonl")):
            self.ops += [json.loads(line) for line in path.read_text().splitlines()]
        self.entries = {
            e.pk: e
            for e in LedgerEntry.objects.filter(
                action__in=[Action.SHARE, Action.REVOKE, Action.EXPIRE]
            )
        }
        self.drifts = Counter(
            LedgerEntry.objects.filter(action=Action.DRIFT).values_list("message", flat=True)
        )
        self.calls = defaultdict(list)
        self.timeline = defaultdict(list)  # (image, member) -> [(at, present after)]
        for call in state.member_calls():
            self.calls[call.global_request_id].append(call)
            change = {("member_create", 200): True, ("member_delete", 204): False}
            if (call.route, call.status) in change:
                at = datetime.fromisoformat(call.at)
                self.timeline[call.image_id, call.member_id].append(
                    (at, change[call.route, call.status])
                )
        self.shares = Share.objects.filter(revoked_at=None)

    def print(self) -> int:
        from sharing import services
        from sharing.models import Action, Outcome, Team

        lost, wrong, unresolved, explained, misled = [], [], [], [], []
        either = 0
        entry_op = {}
        for record in self.ops:
            for pk in record["entries"]:
                entry_op[pk] = record
            calls = self.calls.get(tag_of(record["op"]), [])
            # A retention revoke (the expiry job's `expire`) is a revoke like any other.
            mine = {(_as_revoke(self.entries[pk].action), self.entries[pk].tenant)
                    for pk in record["entries"] if pk in self.entries}  # fmt: skip
            for call in calls:
                action = Action.SHARE if call.route == "member_create" else Action.REVOKE
                if (action, call.member_id) not in mine:
                    lost.append(f"op {record['op']} ({record['kind']}): {call.route} "
                                f"{call.member_id} reached the cloud, no entry")  # fmt: skip
            expected = record["kind"] not in (
                "share to unknown image", "consumer accepts", "consumer rejects",
                "added outside", "removed outside",
            )  # fmt: skip
            if expected and len(mine) < len(record["tenants"]):
                lost.append(f"op {record['op']} ({record['kind']}): {len(mine)} entries for "
                            f"{len(record['tenants'])} tenant(s)")  # fmt: skip
        for pk, entry in sorted(self.entries.items()):
            record = entry_op.get(pk)
            if record is None:
                continue
            truth = self._truth(entry, record)
            where = (f"#{pk} {entry.action} {entry.tenant} on {entry.image_id[:8]} "
                     f"(op {record['op']}, {record['kind']}, {record.get('result')})")  # fmt: skip
            if entry.outcome is None or (entry.outcome == Outcome.UNKNOWN and not entry.settled_at):
                unresolved.append(f"{where}: still {entry.outcome or 'open'}")
            elif entry.outcome == Outcome.UNKNOWN:
                explained.append(f"{where}: truly {truth}; {entry.settlement}")
            elif truth == EITHER:
                either += 1
            elif entry.outcome != truth and self._misled(entry):
                misled.append(f"{where}: recorded {entry.outcome}, truly {truth} "
                              f"({self._story(entry)}); {entry.settlement}")  # fmt: skip
            elif entry.outcome != truth:
                wrong.append(f"{where}: recorded {entry.outcome} ({entry.http_status}), truly "
                             f"{truth} ({self._story(entry)}); "
                             f"{entry.settlement or entry.message}")  # fmt: skip
        disagree = self._disagreements()
        duplicates = self._duplicates()
        # Two processes wrote the ledger, some killed mid-write: its hash chain must still hold.
        chains = [services.ledger_verify(team=team) for team in Team.objects.all()]
        broken = [f"{c.team}: {c.problem.kind}: {c.problem.detail}" for c in chains if c.problem]
        links = sum(c.links for c in chains)
        wrong += self._line_errors()
        killed = sum(1 for r in self.ops if str(r.get("result")).startswith("killed"))
        member_calls = sum(self.state.calls(route) for route in FAULT_ROUTES)
        kinds = Counter(r["kind"] for r in self.ops)

        args = self.campaign.args
        print(f"Fault campaign: {len(self.ops)} operations, seed {args.seed}, "
              f"{args.processes} processes, PostgreSQL, in {self.ran:.0f} s")  # fmt: skip
        print("  " + ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())))
        print(f"  {member_calls} member creates and deletes, {self.fired} faulted "
              f"({self.fired / max(member_calls, 1):.0%}); {killed} processes killed with "
              f"SIGKILL between attempt and outcome; {len(self.entries)} share and revoke "
              "entries")  # fmt: skip
        for n, lines in enumerate(self.rounds, 1):
            print(f"  sync_shares round {n}, two workers: " + " | ".join(lines))
        if explained:
            reasons = Counter(re.sub(r"#\d+", "#N", row.split("; ", 1)[1]) for row in explained)
            print("  settled unknown: " + "; ".join(f"{n} × {r}" for r, n in reasons.items()))
        print("  " + self._line_figures())
        if self.drifts:
            print("  drifts: " + "; ".join(f"{n} × {m}" for m, n in sorted(self.drifts.items())))
        print()
        print("| figure | value | must be |")
        print("| --- | --- | --- |")
        print(f"| operations with no ledger entry | {len(lost)} | 0 |")
        print(f"| entries with the wrong outcome | {len(wrong)} of {len(self.entries)} ({either} "
              "where either outcome is right) | 0 |")  # fmt: skip
        print(f"| entries settled wrongly because a change outside the dashboard fell between "
              f"the attempt and the evidence | {len(misled)} | each one shown |")  # fmt: skip
        print(f"| entries still `unknown` or open after `sync_shares` | {len(unresolved)} "
              f"unexplained, {len(explained)} settled `unknown` with the reason | 0, or each "
              "one explained by the cloud truly not telling |")  # fmt: skip
        print(f"| our records (Share rows) that disagree with the cloud after sync | "
              f"{len(disagree)} | 0, always |")  # fmt: skip
        print(f"| duplicate member creates | {len(duplicates)} | 0 |")
        print(f"| ledger chain problems (`verify_ledger`, {links} links) | {len(broken)} | 0 |")
        for title, rows in [
            ("No ledger entry", lost), ("Wrong outcome", wrong), ("Unresolved", unresolved),
            ("Settled unknown, with the reason", explained),
            ("Misled by a change outside the dashboard", misled), ("Disagreements", disagree),
            ("Duplicate creates", duplicates), ("Ledger chain", broken),
        ]:  # fmt: skip
            if rows:
                print(f"\n{title}:")
                for row in rows[:25]:
                    print(f"  - {row}")
                if len(rows) > 25:
                    print(f"  ... and {len(rows) - 25} more")
        return 1 if lost or wrong or unresolved or disagree or duplicates or broken else 0

    def _truth(self, entry, record) -> str:
        """What the attempt did, from the cloud's log of member changes.

        A share succeeded if a create carrying its request id answered 200, or 409 with the
        tenant still a member when the attempt ended; a revoke if a delete carrying its
        request id answered 204. Either outcome is right when the attempt changed nothing but
        the change it asked for happened all the same within its time (a share that never
        reached the cloud while the tenant was a member, a revoke whose member someone else
        removed meanwhile): the cloud cannot tell the two apart, and neither can anyone.
        """
        from sharing.models import Action, Outcome

        sharing = entry.action == Action.SHARE
        route = "member_create" if sharing else "member_delete"
        answers = [
            c.status
            for c in self.calls.get(tag_of(record["op"]), [])
            if c.route == route and c.member_id == entry.tenant and c.image_id == entry.image_id
        ]
        ended = datetime.fromisoformat(record["ended"])
        if entry.completed_at and entry.completed_at < ended:
            ended = entry.completed_at
        present_then = self._present(entry.image_id, entry.tenant, ended)
        began = self._present(entry.image_id, entry.tenant, entry.created_at)
        if sharing:
            if any(s in (200, 201) for s in answers) or (409 in answers and present_then):
                return Outcome.SUCCEEDED
            # Found there but removed before its answer, or never reached while it was there.
            return EITHER if present_then or 409 in answers else Outcome.FAILED
        if any(s in (200, 204) for s in answers):
            return Outcome.SUCCEEDED
        return EITHER if began and not present_then else Outcome.FAILED

    def _misled(self, entry) -> bool:
        """Whether a change made outside the dashboard fell between the evidence this attempt
        was settled by and the attempt (the previous entry on the member, and the next one or
        else the settling read): evidence the dashboard cannot see past, since Glance keeps no
        member history."""
        if not entry.settled_at:
            return False
        same = type(entry).objects.filter(
            image_id=entry.image_id,
            tenant=entry.tenant,
            action__in=["share", "revoke", "expire"],
        )
        times = same.values_list("created_at", flat=True)
        later_entry = same.filter(created_at__gt=entry.created_at).order_by("created_at").first()
        # An answer tells of the cloud as it was when the answer came, which may be well after
        # its entry was written (a bulk share writes its attempts first): bound by that.
        later = _answered(later_entry) if later_entry else None
        earlier = times.filter(created_at__lt=entry.created_at).order_by("-created_at").first()
        # The evidence reaches to the entry the settlement names (past unanswered ones), or now.
        named = [int(pk) for pk in re.findall(r"entry #(\d+)", entry.settlement)]
        bounds = [_answered(e) for e in type(entry).objects.filter(pk__in=named)]
        if "now" in entry.settlement or not (bounds or later):
            bounds.append(entry.settled_at)
        start, bound = earlier or entry.created_at, max([*bounds, later or entry.created_at])
        return any(
            start <= datetime.fromisoformat(c.at) <= bound
            for tag, calls in self.calls.items()
            if tag.startswith("outside")
            for c in calls
            if c.image_id == entry.image_id and c.member_id == entry.tenant
        )

    def _present(self, image: str, member: str, moment: datetime) -> bool:
        """Whether the member existed at `moment`, from the log of changes."""
        present = image == self.images["full"] and member in FULL_TENANTS
        for at, change in self.timeline.get((image, member), []):
            if at > moment:
                break
            present = change
        return present

    def _story(self, entry) -> str:
        """Every member call on this member of this image, around the entry's time: what
        the cloud saw, by whom."""
        ops = {tag_of(r["op"]): f"op {r['op']}" for r in self.ops}
        seen = [
            f"{c.at[11:]} {ops.get(tag, 'outside')} {c.route[7:]} {c.status}"
            for tag, calls in self.calls.items()
            for c in calls
            if c.image_id == entry.image_id and c.member_id == entry.tenant
        ]
        return ", ".join(sorted(seen))

    def _line_figures(self) -> str:
        from sharing.models import Action, LedgerEntry, LineVersion

        counted = Counter(
            LedgerEntry.objects.filter(line__isnull=False).values_list("action", flat=True)
        )
        states = Counter(LineVersion.objects.values_list("state", flat=True))
        return (
            f"lines: {counted[Action.PUBLISH]} publishes, {counted[Action.SHARE]} line shares, "
            f"{counted[Action.CHANNEL_MOVE]} channel moves, {counted[Action.DEPRECATE]} "
            f"deprecations, {counted[Action.EXPIRE]} retention revokes; versions "
            + ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
        )

    def _line_errors(self) -> list[str]:
        """The lines' own truth: versions numbered 1..n once each, one per publish entry;
        `stable` where its last move put it; no retired version still with our records."""
        from sharing.models import Action, LedgerEntry, Line, Share

        rows = []
        for line in Line.objects.all():
            numbers = sorted(line.versions.values_list("number", flat=True))
            publishes = LedgerEntry.objects.filter(line=line, action=Action.PUBLISH).count()
            if numbers != list(range(1, len(numbers) + 1)) or publishes != len(numbers):
                rows.append(f"{line.slug}: versions {numbers}, {publishes} publish entries")
            moves = LedgerEntry.objects.filter(
                line=line, action=Action.CHANNEL_MOVE, note__startswith="stable"
            )
            last = moves.order_by("-id").first()
            stable = line.channels.filter(name="stable").first()
            if last and (not stable or stable.version.number != last.line_version):
                rows.append(f"{line.slug}: stable at {stable and stable.version.number}, last "
                            f"move to {last.line_version}")  # fmt: skip
            for version in line.versions.filter(state="retired"):
                kept = Share.objects.filter(image_id=version.image_id, revoked_at=None)
                if kept.exists():
                    rows.append(f"{line.slug} v{version.number} retired, still shared with "
                                f"{list(kept.values_list('tenant', flat=True))}")  # fmt: skip
        return rows

    def _disagreements(self) -> list[str]:
        rows = []
        line_images = [i for pool in self.images["lines"].values() for i in pool]
        for image in [*self.images["regular"], self.images["full"], *line_images]:
            cloud = {m.member_id: m.status for m in self.state.members(image)}
            ours = {s.tenant: s.status for s in self.shares.filter(image_id=image)}
            for tenant in sorted(cloud.keys() | ours.keys()):
                if cloud.get(tenant) != ours.get(tenant):
                    rows.append(f"{image[:8]} {tenant}: cloud {cloud.get(tenant) or 'no member'}, "
                                f"our record {ours.get(tenant) or 'none'}")  # fmt: skip
        return rows

    def _duplicates(self) -> list[str]:
        created = Counter(
            (tag, c.image_id, c.member_id)
            for tag, calls in self.calls.items()
            for c in calls
            if c.route == "member_create" and c.status in (200, 201) and tag.startswith("req-")
        )
        return [f"{tag} {image[:8]} {member}: {n} creates"
                for (tag, image, member), n in created.items() if n > 1]  # fmt: skip


def _as_revoke(action: str) -> str:
    return "revoke" if action == "expire" else action


def _answered(entry) -> datetime:
    """When an entry's answer arrived (its completion), else when it was written."""
    return max(entry.created_at, entry.completed_at or entry.created_at)


if __name__ == "__main__":
    sys.exit(main())
