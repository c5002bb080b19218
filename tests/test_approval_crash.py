"""An approval whose process dies half-way ends shared or visibly failed: the approval runs in
a process of its own, really killed (SIGKILL) at each step, against the built-in cloud served
over HTTP; then the upkeep runs here, as the worker would."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from builtin_cloud import CloudState, FakeCloudApp, running_server
from sharing import services
from sharing.models import AccessRequest, Action, LedgerEntry, Outcome, RequestStatus, Share

from .conftest import ACME, GLOBEX, INITECH, ROOT

# The approval, as a web worker runs it; killed before it ends.
APPROVE = """
import sys
import django
django.setup()
from django.contrib.auth.models import User
from sharing import services
from sharing.models import AccessRequest
services.access_request_approve(
    access_request=AccessRequest.objects.get(pk=int(sys.argv[1])),
    actor=User.objects.get(username="alice"),
    make_shared=sys.argv[2] == "make-shared",
)
"""
STALL = 60.0  # a fault's stall: far longer than the test waits before the kill


@pytest.fixture
def served():
    """The built-in cloud on a real socket, its state in this process."""
    state = CloudState(":memory:")
    for tenant, name in [(ACME, "Acme"), (GLOBEX, "Globex"), (INITECH, "Initech")]:
        state.add_account(tenant, name)
        state.add_user(f"{name.lower()}-admin", tenant, api_key="demo-api-key")
    app = FakeCloudApp(state, "http://placeholder", regions=("IAD",))
    with running_server(app) as base_url:
        yield state, base_url


@contextmanager
def shared_database(tmp_path) -> Iterator[str]:
    """A DATABASE_URL another process can use on this test's data; what it wrote is here
    afterwards. PostgreSQL: the test database itself. SQLite: the in-memory test database
    copied to a file and back."""
    if connection.vendor == "postgresql":
        s = connection.settings_dict
        password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
        yield f"postgres://{s['USER']}{password}@{s['HOST']}:{s['PORT']}/{s['NAME']}"
        return
    path = tmp_path / "shared.sqlite3"
    connection.ensure_connection()
    copy = sqlite3.connect(path)
    connection.connection.backup(copy)
    copy.close()
    yield f"sqlite:///{path}"
    copy = sqlite3.connect(path)
    copy.backup(connection.connection)
    copy.close()


def approve_and_kill(database_url: str, request: AccessRequest, *, make_shared: bool, when):
    """Run the approval in a process of its own; SIGKILL it once `when()` is true."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url,
        "CLOUD_READ_TIMEOUT": str(STALL),
    }
    mode = "make-shared" if make_shared else "as-is"
    process = subprocess.Popen(
        [sys.executable, "-c", APPROVE, str(request.pk), mode], cwd=ROOT, env=env,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        _wait_for(when, process)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL


def _wait_for(when: Callable[[], bool], process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 45
    while not when():
        if process.poll() is not None:
            pytest.fail(f"The approval ended before the kill:\n{process.stderr.read()}")
        assert time.monotonic() < deadline, "the approval never reached the step"
        time.sleep(0.05)


def reconcile(team) -> str:
    """The worker's upkeep, in this process, without the settle delay."""
    return services.team_reconcile(team=team, older_than=timedelta(0))


@pytest.fixture
def request_on(team, alice, carol, served):
    """Carol's request for Initech, on an image of the given visibility; the team's cloud is
    the served one."""
    state, base_url = served
    team.identity_url = f"{base_url}/identity"
    team.regions, team.default_region = ["IAD"], "IAD"
    team.save()

    def make(visibility: str) -> tuple[AccessRequest, str]:
        image = state.create_image(owner=ACME, region="IAD", name="web-base", visibility=visibility)
        found = AccessRequest.objects.create(
            team=team, region="IAD", image_id=image["id"], image_name="web-base",
            tenant=INITECH, justification="pilot", requested_by=carol, requester_name="carol",
            share_until=timezone.now() + timedelta(days=7), status_token="token",
        )  # fmt: skip
        return found, image["id"]

    return make


def timeline(request: AccessRequest) -> list[tuple[str, str | None]]:
    return list(request.entries.order_by("id").values_list("action", "outcome"))


pytestmark = pytest.mark.django_db(transaction=True)


def test_an_approval_killed_right_after_its_claim_ends_failed_and_says_so(
    team, served, request_on, tmp_path
):
    state, _ = served
    request, image = request_on("private")
    state.add_fault("timeout", route="image_patch", seconds=STALL)  # never applied
    with shared_database(tmp_path) as url:
        approve_and_kill(url, request, make_shared=True, when=lambda: state.calls("image_patch"))
    request.refresh_from_db()
    assert (request.status, request.failure) == (RequestStatus.APPROVED, "")  # half-way

    report = reconcile(team)

    request.refresh_from_db()
    assert request.status == RequestStatus.FAILED
    assert request.failure.startswith("The share was not made; approve again to retry.")
    assert "was not a member now" in request.failure
    assert timeline(request) == [
        (Action.APPROVE, Outcome.SUCCEEDED),
        (Action.SHARE, Outcome.FAILED),
        (Action.MAKE_SHARED, Outcome.FAILED),
    ]
    assert "1 request(s) failed" in report
    assert state.image(image).visibility == "private"
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]  # the admins hear of it
    assert "failed" in mail.outbox[0].subject.lower()


def test_an_approval_killed_after_the_image_was_made_shared_ends_failed(
    team, served, request_on, tmp_path
):
    state, _ = served
    request, image = request_on("private")
    state.add_fault("timeout", route="image_patch", after=True, seconds=STALL)  # applied
    with shared_database(tmp_path) as url:
        approve_and_kill(
            url, request, make_shared=True,
            when=lambda: state.image(image).visibility == "shared",
        )  # fmt: skip

    reconcile(team)

    request.refresh_from_db()
    assert request.status == RequestStatus.FAILED
    assert timeline(request) == [
        (Action.APPROVE, Outcome.SUCCEEDED),
        (Action.SHARE, Outcome.FAILED),
        (Action.MAKE_SHARED, Outcome.SUCCEEDED),
    ]
    made = request.entries.get(action=Action.MAKE_SHARED)
    assert made.settlement == "The image is shared now."
    assert state.member(image, INITECH) is None


def test_an_approval_killed_while_its_create_never_landed_ends_failed(
    team, served, request_on, tmp_path
):
    state, _ = served
    request, image = request_on("shared")
    state.add_fault("timeout", route="member_create", seconds=STALL)  # sent, never applied
    with shared_database(tmp_path) as url:
        approve_and_kill(url, request, make_shared=False, when=lambda: state.calls("member_create"))

    reconcile(team)

    request.refresh_from_db()
    assert request.status == RequestStatus.FAILED
    share = request.entries.get(action=Action.SHARE)
    assert (share.outcome, share.settlement) == (
        Outcome.FAILED,
        f"Settled from evidence: {INITECH} was not a member now.",
    )
    assert not Share.objects.exists()


def test_an_approval_killed_while_its_create_landed_ends_shared_until_the_requested_day(
    team, served, request_on, tmp_path
):
    state, _ = served
    request, image = request_on("shared")
    state.add_fault("timeout", route="member_create", after=True, seconds=STALL)  # applied
    with shared_database(tmp_path) as url:
        approve_and_kill(
            url, request, make_shared=False, when=lambda: state.member(image, INITECH) is not None
        )

    report = reconcile(team)

    request.refresh_from_db()
    assert (request.status, request.failure, request.sharing_since) == (
        RequestStatus.APPROVED, "", None,
    )  # fmt: skip
    assert timeline(request) == [
        (Action.APPROVE, Outcome.SUCCEEDED),
        (Action.SHARE, Outcome.SUCCEEDED),
    ]
    assert request.entries.get(action=Action.SHARE).settled_at is not None
    share = Share.objects.get(revoked_at=None)
    assert (share.tenant, share.access_request, share.expires_at) == (
        INITECH, request, request.share_until,
    )  # fmt: skip
    assert "1 request(s) shared" in report and "records 1 recorded" in report
    assert not LedgerEntry.objects.filter(action=Action.DRIFT).exists()
    assert [m.to for m in mail.outbox] == [["carol@example.com"]]  # the requester hears


def test_a_request_approved_long_ago_without_any_share_attempt_fails_and_the_ledger_says_so(
    team, alice, served, request_on
):
    # Left by a process that died between the claim and the share's attempt (or by an
    # earlier version, which recorded the attempt later): nothing was sent.
    request, _ = request_on("shared")
    decided = timezone.now() - timedelta(minutes=10)
    AccessRequest.objects.filter(pk=request.pk).update(
        status=RequestStatus.APPROVED, decided_by=alice, decided_at=decided, sharing_since=decided
    )

    report = reconcile(team)

    request.refresh_from_db()
    assert request.status == RequestStatus.FAILED
    assert "the approval stopped before the share was sent" in request.failure
    entry = request.entries.get()
    assert (entry.action, entry.outcome, entry.actor_name) == (
        Action.SHARE, Outcome.FAILED, "system",
    )  # fmt: skip
    assert "1 request(s) failed" in report
    assert "request(s)" not in reconcile(team)  # settled once
    assert request.entries.count() == 1


def test_an_approval_under_way_is_left_alone_by_the_upkeep(team, alice, served, request_on):
    request, _ = request_on("shared")
    now = timezone.now()
    AccessRequest.objects.filter(pk=request.pk).update(
        status=RequestStatus.APPROVED, decided_by=alice, decided_at=now, sharing_since=now
    )
    services.team_reconcile(team=team)  # the default delay
    request.refresh_from_db()
    assert (request.status, request.sharing_since) == (RequestStatus.APPROVED, now)
    assert not request.entries.exists()
