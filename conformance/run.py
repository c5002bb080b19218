"""`make conformance`: hold the built-in cloud and the client to real OpenStack Glance 33.

    python conformance/run.py               # scenarios on both targets, then the client run
    python conformance/run.py --all         # also print every step, not only differences
    python conformance/run.py --scenarios   # only the scenario suite
    python conformance/run.py --client      # only the client run (pytest)
    python conformance/run.py --stock-clients   # only the stock OpenStack clients

1. Starts real Glance (glance_server.py: cached venv, fresh database) and plays the scenario
   list (scenarios.py) against it, sending the caller as identity headers.
2. Plays the same list against the built-in cloud over a real socket, with tokens from its
   own identity API.
3. Compares each step: status code and the step's facets (member status, members, which
   images a list shows, ...). Also checks real Glance against the statuses recorded in the
   table of docs/glance-observed.md. Error texts that differ are listed as notes; they
   do not fail.
4. Runs the client (sharing.cloud) against a fresh real Glance through the identity front
   (front.py): test_client_real_glance.py, with its own pytest configuration.
5. Runs the stock OpenStack clients' sharing workflow (clients/run.py) against the built-in
   cloud and against real Glance through the front, and compares them. Their virtualenv comes
   from `make conformance` (CLIENTS_VENV); without it this part is skipped, with a note.

Exits 1 on any difference or failure.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

import glance_server  # noqa: E402
from scenarios import CAST, CONSTANTS, NO_BODY, STEPS, Step  # noqa: E402

TIMEOUT = 30
BUILTIN_REGION = "iad"


# The two targets


class RealGlance:
    """Glance behind its header-identity pipeline: the caller travels as X-* headers."""

    name = "glance"

    def __init__(self, url: str) -> None:
        self.root = url
        self.session = requests.Session()

    def identity(self, who: str) -> dict[str, str]:
        if who == "anon":
            return {}
        project, roles = CAST[who]
        project_header = "X-Tenant-Id" if who == "b-tenant-id" else "X-Project-Id"
        headers = {
            "X-Identity-Status": "Confirmed",
            project_header: project,
            "X-User-Id": f"user-{project}",
        }
        if roles is not None:
            headers["X-Roles"] = ",".join(roles)
        return headers


class BuiltinCloud:
    """The built-in cloud on a socket; the caller is a token from its Rackspace identity API."""

    name = "built-in"

    def __init__(self, base_url: str, tokens: dict[str, str]) -> None:
        self.root = f"{base_url}/{BUILTIN_REGION}/images"
        self.tokens = tokens
        self.session = requests.Session()

    def identity(self, who: str) -> dict[str, str]:
        return {} if who == "anon" else {"X-Auth-Token": self.tokens[who]}


@contextmanager
def builtin_cloud() -> Iterator[BuiltinCloud]:
    from builtin_cloud import running_server
    from tests.glance_cast import PASSWORD, FakeCloud

    cloud = FakeCloud()
    cloud.state.member_limit = 3  # as image_member_quota in glance/glance-api.conf
    for who, (project, roles) in CAST.items():
        cloud.state.add_account(project, project.upper())
        if cloud.state.user(who) is None and who != "b-tenant-id":
            cloud.state.add_user(who, project, password=PASSWORD, roles=roles or ())
    with running_server(cloud.app) as base_url:
        session = requests.Session()
        tokens = {}
        for who in CAST:
            username = "b" if who == "b-tenant-id" else who
            tokens[who] = cloud.login(username, session)
        yield BuiltinCloud(base_url, tokens)


# Playing the steps


@dataclass
class Observation:
    status: int | str  # a string when the step could not be sent
    facets: dict[str, Any]
    message: str


def play(target: RealGlance | BuiltinCloud, steps: list[Step]) -> list[Observation]:
    saved: dict[str, str] = dict(CONSTANTS)
    observations = []
    for step in steps:
        try:
            path = step.path.format_map(saved)
        except KeyError as missing:
            observations.append(Observation(f"no {missing.args[0]}", {}, ""))
            continue
        headers = {"Accept": "application/json", **target.identity(step.who)}
        headers.update(step.headers)
        kwargs: dict[str, Any] = {}
        if step.raw is not None:
            kwargs["data"] = step.raw
        elif step.body is not NO_BODY:
            kwargs["json"] = step.body
        response = target.session.request(
            step.method, target.root + path, headers=headers, timeout=TIMEOUT, **kwargs
        )
        body = _json(response)
        if response.ok and isinstance(body, dict):
            if step.save and response.status_code == 201 and isinstance(body.get("id"), str):
                saved[step.save] = body["id"]
            if step.save_next and isinstance(body.get("next"), str):
                saved[step.save_next] = body["next"]
        facets = facets_of(step, body) if response.ok else {}
        facets.update(response_facets(step, response, saved))
        facets["request_id"] = "x-openstack-request-id" in response.headers
        observations.append(Observation(response.status_code, facets, message_of(response, saved)))
    return observations


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def facets_of(step: Step, body: Any) -> dict[str, Any]:
    body = body if isinstance(body, dict) else {}
    images = [i for i in body.get("images") or [] if isinstance(i, dict)]
    extract = {
        "member": lambda: (repr(body.get("member_id")), body.get("status")),
        "members": lambda: [
            (str(m.get("member_id")), m.get("status")) for m in body.get("members") or []
        ],
        "names": lambda: sorted(str(i.get("name")) for i in images),
        "page": lambda: ([i.get("name") for i in images], "next" in body),
        "shape": lambda: (len(images), "next" in body),
        "image": lambda: {
            **{
                key: body.get(key)
                for key in ("name", "visibility", "status", "owner", "protected", "min_disk")
            },
            "fields": sorted(body),
        },
        "line_properties": lambda: {
            key: body.get(key)
            for key in sorted(body)
            if key.startswith("image_line") or key == "provided_until"
        },
        "current": lambda: [
            v.get("id") for v in body.get("versions") or [] if v.get("status") == "CURRENT"
        ],
        "schema": lambda: (body.get("name"), sorted(body.get("properties") or {})),
        "document": lambda: body,
        "hashes": lambda: (
            {
                key: body.get(key)
                for key in ("status", "size", "virtual_size", "checksum", "os_hash_algo")
            }
            | {"os_hash_value": body.get("os_hash_value"), "stores": body.get("stores")}
        ),
    }
    return {facet: extract[facet]() for facet in step.facets if facet in extract}


def response_facets(
    step: Step, response: requests.Response, saved: dict[str, str]
) -> dict[str, Any]:
    """Facets of the answer itself, for errors too: its media type, and its body as text
    (with this target's ids put back as placeholders) or bytes."""
    extract = {
        "content_type": lambda: response.headers.get("Content-Type", ""),
        "text": lambda: _placeholders(response.text, saved),
        "data": lambda: _placeholders(response.content.decode("latin-1"), saved),
    }
    return {facet: extract[facet]() for facet in step.facets if facet in extract}


def _placeholders(text: str, saved: dict[str, str]) -> str:
    for name, value in saved.items():
        if name not in CONSTANTS and not value.startswith("/"):
            text = text.replace(value, "{" + name + "}")
    return text


def message_of(response: requests.Response, saved: dict[str, str]) -> str:
    """The error text, without markup, with this target's ids put back as placeholders."""
    if response.ok:
        return ""
    body = _json(response)
    text = body.get("message", "") if isinstance(body, dict) else response.text
    text = " ".join(re.sub(r"<[^>]*>", " ", str(text)).split())
    for name, value in saved.items():
        if name not in CONSTANTS and not value.startswith("/"):
            text = text.replace(value, "{" + name + "}")
    return text


# Comparing


@dataclass
class Row:
    number: int
    step: Step
    real: Observation
    builtin: Observation

    @property
    def differences(self) -> list[str]:
        found = []
        # A step that could not be sent (a link or id missing) fails even if both missed it.
        unsent = isinstance(self.real.status, str) or isinstance(self.builtin.status, str)
        if unsent or self.real.status != self.builtin.status:
            found.append("status")
        for facet in (*self.step.facets, "request_id"):
            if self.real.facets.get(facet) != self.builtin.facets.get(facet):
                found.append(facet)
        return found

    @property
    def unlike_observed(self) -> bool:
        return self.step.expect is not None and self.real.status != self.step.expect

    @property
    def message_differs(self) -> bool:
        return self.real.message != self.builtin.message


def show(value: Any, width: int = 70) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= width else text[: width - 1] + "…"


def report(rows: list[Row], *, every: bool) -> int:
    failures = 0
    print(f"\n{'#':>3}  {'glance':>6}  {'built-in':>8}  step")
    for row in rows:
        differences = row.differences
        bad = bool(differences) or row.unlike_observed
        failures += bad
        if not (bad or every):
            continue
        mark = "!" if bad else " "
        print(
            f"{row.number:>3}{mark} {row.real.status!s:>6}  {row.builtin.status!s:>8}  "
            f"{row.step.title}  [{row.step.who} {row.step.method} {row.step.path}]"
        )
        if row.unlike_observed:
            print(f"       docs/glance-observed.md recorded {row.step.expect}")
        for facet in (*row.step.facets, "request_id"):
            if facet in differences:
                print(f"       {facet}: glance {show(row.real.facets.get(facet))}")
                print(f"       {' ' * len(facet)}  built-in {show(row.builtin.facets.get(facet))}")
            elif every and facet in row.real.facets:
                print(f"       {facet}: {show(row.real.facets[facet], 100)}")
    notes = [row for row in rows if row.message_differs]
    if notes:
        print("\nError texts that differ (notes, not failures):")
        for row in notes:
            print(f"{row.number:>3}  {row.step.title}")
            print(f"       glance   {show(row.real.message, 110)}")
            print(f"       built-in {show(row.builtin.message, 110)}")
    print(f"\nError texts that differ, not counted: {len(notes)}. Steps that agree and differ:")
    print(f"Scenarios: {len(rows) - failures} passed, {failures} failed")
    return failures


def run_scenarios(every: bool) -> int:
    started = time.monotonic()
    with glance_server.running_glance() as url:
        real = play(RealGlance(url), STEPS)
    with builtin_cloud() as target:
        builtin = play(target, STEPS)
    rows = [
        Row(n, step, r, b)
        for n, (step, r, b) in enumerate(zip(STEPS, real, builtin, strict=True), 1)
    ]
    failures = report(rows, every=every)
    print(f"(scenario suite took {time.monotonic() - started:.0f}s)")
    return failures


def run_client() -> int:
    """The client against real Glance, with its own pytest configuration (not `make test`)."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-c",
        str(HERE / "pytest.ini"),
        "--rootdir",
        str(HERE),
        str(HERE / "test_client_real_glance.py"),
    ]
    return subprocess.run(command, cwd=ROOT, env=os.environ.copy(), check=False).returncode


def run_stock_clients() -> int:
    """openstack, glance and openstacksdk on both targets (clients/run.py --against both)."""
    venv = os.environ.get("CLIENTS_VENV")
    if not venv:
        print("Skipped: CLIENTS_VENV is not set (`make conformance` sets it).")
        return 0
    command = [
        sys.executable,
        str(ROOT / "clients" / "run.py"),
        "--clients-venv",
        venv,
        "--against",
        "both",
    ]
    return subprocess.run(command, cwd=ROOT, check=False).returncode  # noqa: S603


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--all", action="store_true", help="print every step")
    parser.add_argument("--scenarios", action="store_true", help="only the scenario suite")
    parser.add_argument("--client", action="store_true", help="only the client run")
    parser.add_argument(
        "--stock-clients", action="store_true", help="only the stock OpenStack clients"
    )
    args = parser.parse_args()
    both = not (args.scenarios or args.client or args.stock_clients)
    started = time.monotonic()
    failed = False
    try:
        if args.scenarios or both:
            print("=== Scenario suite: real Glance 33.0.0 vs the built-in cloud", flush=True)
            failed |= run_scenarios(args.all) > 0
        if args.client or both:
            print("\n=== The client (sharing.cloud) against real Glance 33.0.0", flush=True)
            failed |= run_client() != 0
        if args.stock_clients or both:
            print("\n=== Stock OpenStack clients: real Glance 33.0.0 vs the built-in cloud")
            sys.stdout.flush()
            failed |= run_stock_clients() != 0
    except glance_server.GlanceError as error:
        print(f"\nReal Glance could not be set up: {error}", file=sys.stderr)
        sys.exit(1)
    print(f"\nConformance {'FAILED' if failed else 'passed'} in {time.monotonic() - started:.0f}s.")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
