"""`make clients`: stock OpenStack clients run the sharing workflow against the built-in cloud.

    python clients/run.py --clients-venv DIR                  # the built-in cloud only
    python clients/run.py --clients-venv DIR --against both   # and real Glance 33 (conformance)

The clients (python-openstackclient, python-glanceclient, openstacksdk; pinned in
clients/requirements.txt) live in their own virtualenv DIR, made by `make clients`. Each runs
the owner/consumer workflow: create a shared image with data, add the consumer, list members;
the consumer sees the offer, accepts, lists, rejects, lists with --member-status, downloads;
the owner sees the rejection, removes the member, deletes the image.

Targets, on 127.0.0.1 only:
  built-in  `manage.py fakecloud --port N --seed` in its own process, with its demo accounts
            (acme-admin owns, globex-admin consumes), Keystone v3 auth at /identity.
  glance    real Glance 33 (conformance/glance_server.py) behind the identity front
            (conformance/front.py), with projects tenant-a and tenant-b.

Every step's observation must equal the step's expectation on each target; with both targets,
everything a step shows (error texts included) must also be the same on both. Exits 1 if not.
"""

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = b"image data shared by the workflow\n" * 64
COMMAND_TIMEOUT = 120


@dataclass(frozen=True)
class Account:
    username: str
    project: str  # name, for Keystone's password scope
    project_id: str


@dataclass(frozen=True)
class Target:
    name: str
    auth_url: str
    image_url: str  # the image endpoint of the catalog, for a client given a token
    region: str
    password: str
    owner: Account
    consumer: Account

    def env(self, account: Account) -> dict[str, str]:
        """The OS_* variables a user of this cloud exports (Keystone v3, password)."""
        return {
            "OS_AUTH_URL": self.auth_url,
            "OS_AUTH_TYPE": "password",
            "OS_USERNAME": account.username,
            "OS_PASSWORD": self.password,
            "OS_PROJECT_NAME": account.project,
            "OS_USER_DOMAIN_NAME": "Default",
            "OS_PROJECT_DOMAIN_NAME": "Default",
            "OS_REGION_NAME": self.region,
            "OS_INTERFACE": "public",
            "OS_IDENTITY_API_VERSION": "3",
            # No OS_IMAGE_API_VERSION: glanceclient finds v2 from the versions and schemas.
        }

    def sdk_auth(self, account: Account) -> dict[str, Any]:
        return {
            "auth_type": "password",
            "auth": {
                "auth_url": self.auth_url,
                "username": account.username,
                "password": self.password,
                "project_name": account.project,
                "user_domain_name": "Default",
                "project_domain_name": "Default",
            },
            "region_name": self.region,
            "interface": "public",
            "identity_api_version": "3",
        }


# The targets


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(url: str, process: subprocess.Popen | None = None, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            requests.get(url, timeout=2)
            return
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer in {seconds:.0f}s") from None
            time.sleep(0.1)


@contextmanager
def builtin_cloud(workdir: Path) -> Iterator[Target]:
    """`manage.py fakecloud --port N --seed`, its state in a file of this run (FAKE_CLOUD_DB)."""
    port = _free_port()
    env = {
        **os.environ,
        "DEBUG": "1",
        "FAKE_CLOUD_DB": str(workdir / "fakecloud.sqlite3"),
    }
    log = open(workdir / "fakecloud.log", "wb")  # noqa: SIM115 (closed below)
    command = [sys.executable, "manage.py", "fakecloud", "--port", str(port), "--seed"]
    # Fixed commands of this repository and its client venv: no untrusted input (S603).
    process = subprocess.Popen(  # noqa: S603
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        base_url = f"http://127.0.0.1:{port}"
        _wait_for(f"{base_url}/identity", process)
        yield Target(
            name="built-in",
            auth_url=f"{base_url}/identity",
            image_url=f"{base_url}/iad/images",
            region="IAD",
            password="demo-cloud-password",
            owner=Account("acme-admin", "Acme", "100001"),
            consumer=Account("globex-admin", "Globex", "100002"),
        )
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()


@contextmanager
def real_glance() -> Iterator[Target]:
    """Real Glance 33 behind the identity front, both on 127.0.0.1."""
    sys.path[:0] = [str(ROOT / "conformance"), str(ROOT)]
    import glance_server
    from front import KEYSTONE_REGION, SECRET, Front

    from builtin_cloud import running_server

    with glance_server.running_glance() as glance_url:
        front = Front(glance_url)
        with running_server(front):  # type: ignore[arg-type]
            yield Target(
                name="glance",
                auth_url=f"{front.base_url}/identity",
                image_url=f"{front.base_url}/glance",
                region=KEYSTONE_REGION,
                password=SECRET,
                owner=Account("tenant-a", "tenant-a", "tenant-a"),
                consumer=Account("tenant-b", "tenant-b", "tenant-b"),
            )


# The workflow of each client


@dataclass
class Observation:
    step: str
    observed: Any  # compared with the expectation, and between targets
    detail: str = ""  # compared between targets only (e.g. an error text)


class Run:
    """One client's workflow on one target: commands as owner or consumer."""

    def __init__(self, target: Target, venv: Path, workdir: Path, client: str) -> None:
        self.target = target
        self.venv = venv
        self.workdir = workdir
        self.name = f"{client}-probe"
        self.image_id = ""
        self.file = workdir / "upload.raw"
        self.file.write_bytes(DATA)

    def placeholders(self, text: str) -> str:
        """Ids and names differ between targets: put placeholders in their place."""
        replacements = {
            self.image_id: "{image}",
            self.target.consumer.project_id: "{consumer}",
            self.target.owner.project_id: "{owner}",
        }
        for value, placeholder in replacements.items():
            if value:
                text = re.sub(rf"\b{re.escape(value)}\b", placeholder, text)
        return text

    def run(
        self, who: str, program: str, *args: str, token: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """`program` as the owner or the consumer: with its OS_* variables, or (token=True)
        with only a token, as `glance --os-auth-token T --os-image-url URL` is used."""
        account = self.target.owner if who == "owner" else self.target.consumer
        env = {"PATH": f"{self.venv / 'bin'}:/usr/bin:/bin", "HOME": str(self.workdir)}
        if token:
            issued = self.run(who, "openstack", "token", "issue", "-f", "value", "-c", "id")
            args = ("--os-auth-token", issued.stdout.strip(), "--os-image-url",
                    self.target.image_url, *args)  # fmt: skip
        else:
            env |= self.target.env(account)
        return subprocess.run(  # noqa: S603
            [str(self.venv / "bin" / program), *args],
            env=env,
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )

    def error_text(self, result: subprocess.CompletedProcess[str]) -> str:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        return self.placeholders(lines[-1]) if lines else ""


def openstack_cli(run: Run) -> Iterator[Observation]:
    name = run.name

    def osc(who: str, *args: str, json_output: bool = True) -> tuple[int, Any, str]:
        result = run.run(who, "openstack", *args, *(("-f", "json") if json_output else ()))
        data: Any = None
        if result.returncode == 0 and json_output:
            data = json.loads(result.stdout)
        return result.returncode, data, run.error_text(result)

    def members() -> Any:
        code, data, error = osc("owner", "image", "member", "list", name)
        rows = [[run.placeholders(m["Member ID"]), m["Status"]] for m in data or []]
        return code, rows, error

    def listed(*args: str) -> tuple[int, bool, str]:
        code, data, error = osc("consumer", "image", "list", *args)
        return code, any(i["ID"] == run.image_id for i in data or []), error

    code, image, error = osc(
        "owner",
        "image",
        "create",
        "--file",
        str(run.file),
        "--disk-format",
        "raw",
        "--container-format",
        "bare",
        "--shared",
        name,
    )
    run.image_id = (image or {}).get("id", "")
    yield _image_observation("create image with data", code, image, error)
    code, member, error = osc(
        "owner", "image", "add", "project", name, run.target.consumer.project_id
    )
    yield _member_observation("add project", code, member, run, error)
    yield Observation("owner lists members", *_triple(members()))
    yield Observation(
        "consumer sees the pending offer",
        *_triple(listed("--shared", "--member-status", "pending")),
    )
    code, _, error = osc("consumer", "image", "set", "--accept", run.image_id, json_output=False)
    yield Observation("consumer accepts", code, error)
    yield Observation(
        "consumer lists accepted images", *_triple(listed("--member-status", "accepted"))
    )
    code, _, error = osc("consumer", "image", "set", "--reject", run.image_id, json_output=False)
    yield Observation("consumer rejects", code, error)
    yield Observation(
        "consumer lists rejected offers",
        *_triple(listed("--shared", "--member-status", "rejected")),
    )
    yield Observation("owner sees the rejection", *_triple(members()))
    saved = run.workdir / "download.raw"
    code, _, error = osc(
        "consumer", "image", "save", "--file", str(saved), run.image_id, json_output=False
    )
    yield Observation("consumer downloads the data", [code, _read(saved) == DATA], error)
    code, _, error = osc(
        "owner", "image", "remove", "project", name, run.target.consumer.project_id,
        json_output=False,
    )  # fmt: skip
    yield Observation("owner removes the project", code, error)
    yield Observation("owner lists no members", *_triple(members()))
    code, _, error = osc("consumer", "image", "show", run.image_id)
    yield Observation("consumer no longer sees the image", [code, error])
    code, _, error = osc("owner", "image", "delete", name, json_output=False)
    yield Observation("owner deletes the image", code, error)
    code, _, error = osc("owner", "image", "show", run.image_id)
    yield Observation("the image is gone", [code, error])


def glance_cli(run: Run) -> Iterator[Observation]:
    def glance(who: str, *args: str) -> tuple[int, str, str]:
        result = run.run(who, "glance", *args)
        return result.returncode, result.stdout, run.error_text(result)

    def members() -> tuple[int, Any, str]:
        code, out, error = glance("owner", "member-list", "--image-id", run.image_id)
        rows = [[run.placeholders(row[1]), row[2]] for row in _table_rows(out)]
        return code, rows, error

    def listed(*args: str) -> tuple[int, bool, str]:
        code, out, error = glance("consumer", "image-list", *args)
        return code, any(row[0] == run.image_id for row in _table_rows(out)), error

    def member_update(status: str) -> tuple[int, Any, str]:
        code, out, error = glance(
            "consumer", "member-update", run.image_id, run.target.consumer.project_id, status
        )
        rows = [[run.placeholders(row[1]), row[2]] for row in _table_rows(out)]
        return code, rows, error

    code, out, error = glance(
        "owner",
        "image-create",
        "--file",
        str(run.file),
        "--disk-format",
        "raw",
        "--container-format",
        "bare",
        "--visibility",
        "shared",
        "--name",
        run.name,
    )
    image = _property_table(out) if code == 0 else None
    run.image_id = (image or {}).get("id", "")
    yield _image_observation("create image with data", code, image, error)
    result = run.run("consumer", "glance", "image-show", run.image_id, token=True)
    shown = _property_table(result.stdout) if result.returncode == 0 else {}
    yield Observation(
        "consumer shows the image with a token",
        [result.returncode, shown.get("status") or run.error_text(result)],
    )
    code, out, error = glance(
        "owner", "member-create", run.image_id, run.target.consumer.project_id
    )
    rows = [[run.placeholders(row[1]), row[2]] for row in _table_rows(out)]
    yield Observation("member-create", [code, rows], error)
    yield Observation("owner lists members", *_triple(members()))
    yield Observation(
        "consumer sees the pending offer",
        *_triple(listed("--visibility", "shared", "--member-status", "pending")),
    )
    yield Observation("consumer accepts", *_triple(member_update("accepted")))
    yield Observation(
        "consumer lists accepted images", *_triple(listed("--member-status", "accepted"))
    )
    result = run.run("consumer", "glance", "image-download", run.image_id, token=True)
    yield Observation(
        "consumer downloads with a token", [result.returncode, result.stdout.encode() == DATA]
    )
    yield Observation("consumer rejects", *_triple(member_update("rejected")))
    yield Observation(
        "consumer lists rejected offers",
        *_triple(listed("--visibility", "shared", "--member-status", "rejected")),
    )
    yield Observation("owner sees the rejection", *_triple(members()))
    saved = run.workdir / "download.raw"
    code, _, error = glance("consumer", "image-download", "--file", str(saved), run.image_id)
    yield Observation("consumer downloads the data", [code, _read(saved) == DATA], error)
    code, _, error = glance("owner", "member-delete", run.image_id, run.target.consumer.project_id)
    yield Observation("owner deletes the member", code, error)
    yield Observation("owner lists no members", *_triple(members()))
    code, _, error = glance("consumer", "image-show", run.image_id)
    yield Observation("consumer no longer sees the image", [code, error])
    code, _, error = glance("owner", "image-delete", run.image_id)
    yield Observation("owner deletes the image", code, error)
    code, _, error = glance("owner", "image-show", run.image_id)
    yield Observation("the image is gone", [code, error])


def openstacksdk(run: Run) -> Iterator[Observation]:
    config = {
        "owner": run.target.sdk_auth(run.target.owner),
        "consumer": run.target.sdk_auth(run.target.consumer),
        "consumer_id": run.target.consumer.project_id,
        "name": run.name,
        "file": str(run.file),
    }
    config_file = run.workdir / "sdk.json"
    config_file.write_text(json.dumps(config))
    result = subprocess.run(  # noqa: S603
        [str(run.venv / "bin" / "python"), str(HERE / "sdk_workflow.py"), str(config_file)],
        env={"PATH": "/usr/bin:/bin", "HOME": str(run.workdir)},
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT * 4,
        check=False,
    )
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    for line in lines:
        observed = line["observed"]
        if isinstance(observed, dict) and "id" in observed:
            run.image_id = observed.pop("id")
        yield Observation(line["step"], json.loads(run.placeholders(json.dumps(observed))))
    if result.returncode != 0:
        yield Observation("the script ends", result.returncode, run.error_text(result))


# What each step must show

_ACTIVE_IMAGE = {
    "status": "active",
    "size": len(DATA),
    "checksum": "",  # filled below: the md5 of DATA
    "hash_algo": "sha512",
    "visibility": "shared",
}


def _expected_image() -> dict[str, Any]:
    import hashlib

    return {**_ACTIVE_IMAGE, "checksum": hashlib.md5(DATA, usedforsecurity=False).hexdigest()}


EXPECTED: dict[str, dict[str, Any]] = {
    "openstack": {
        "create image with data": [0, _expected_image()],
        "add project": [0, {"member": "{consumer}", "status": "pending"}],
        "owner lists members": [0, [["{consumer}", "pending"]]],
        "consumer sees the pending offer": [0, True],
        "consumer accepts": 0,
        "consumer lists accepted images": [0, True],
        "consumer rejects": 0,
        "consumer lists rejected offers": [0, True],
        "owner sees the rejection": [0, [["{consumer}", "rejected"]]],
        "consumer downloads the data": [0, True],
        "owner removes the project": 0,
        "owner lists no members": [0, []],
        "consumer no longer sees the image": [1, "No Image found for {image}"],
        "owner deletes the image": 0,
        "the image is gone": [1, "No Image found for {image}"],
    },
    "glance": {
        "create image with data": [0, _expected_image()],
        "consumer shows the image with a token": [
            1,
            "HTTP 404 Not Found: No image found with ID {image}",
        ],
        "member-create": [0, [["{consumer}", "pending"]]],
        "owner lists members": [0, [["{consumer}", "pending"]]],
        "consumer sees the pending offer": [0, True],
        "consumer accepts": [0, [["{consumer}", "accepted"]]],
        "consumer lists accepted images": [0, True],
        "consumer downloads with a token": [0, True],
        "consumer rejects": [0, [["{consumer}", "rejected"]]],
        "consumer lists rejected offers": [0, True],
        "owner sees the rejection": [0, [["{consumer}", "rejected"]]],
        "consumer downloads the data": [0, True],
        "owner deletes the member": 0,
        "owner lists no members": [0, []],
        "consumer no longer sees the image": [
            1,
            "HTTP 404 Not Found: No image found with ID {image}",
        ],
        "owner deletes the image": 0,
        "the image is gone": [1, "HTTP 404 Not Found: No image found with ID {image}"],
    },
    "openstacksdk": {
        "own project shown by the identity API": True,
        "create image with data": {
            key: value for key, value in _expected_image().items() if key != "id"
        },
        "add member": {"member": "{consumer}", "status": "pending"},
        "owner lists members": [["{consumer}", "pending"]],
        "consumer sees the pending offer": True,
        "consumer accepts": {"member": "{consumer}", "status": "accepted"},
        "consumer lists accepted images": True,
        "consumer rejects": {"member": "{consumer}", "status": "rejected"},
        "consumer lists rejected offers": True,
        "owner sees the rejection": [["{consumer}", "rejected"]],
        "consumer downloads the data": True,
        "owner removes the member": None,
        "owner lists no members": [],
        "consumer no longer sees the image": {"error": "NotFoundException", "status": 404},
        "owner deletes the image": None,
        "the image is gone": {"error": "NotFoundException", "status": 404},
    },
}

CLIENTS: dict[str, Callable[[Run], Iterator[Observation]]] = {
    "openstack": openstack_cli,
    "glance": glance_cli,
    "openstacksdk": openstacksdk,
}


# Helpers


def _triple(values: tuple[int, Any, str]) -> tuple[list[Any], str]:
    code, observed, error = values
    return [code, observed], error


def _image_observation(step: str, code: int, image: Any, error: str) -> Observation:
    image = image or {}
    properties = image.get("properties") or {}
    observed = {
        "status": image.get("status"),
        "size": _int(image.get("size")),
        "checksum": image.get("checksum"),
        "hash_algo": image.get("os_hash_algo") or properties.get("os_hash_algo"),
        "visibility": image.get("visibility"),
    }
    return Observation(step, [code, observed], error)


def _member_observation(step: str, code: int, member: Any, run: Run, error: str) -> Observation:
    member = member or {}
    observed = {
        "member": run.placeholders(str(member.get("member_id"))),
        "status": member.get("status"),
    }
    return Observation(step, [code, observed], error)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _read(path: Path) -> bytes:
    return path.read_bytes() if path.exists() else b""


def _table_rows(text: str) -> list[list[str]]:
    """The data rows of a prettytable (`| a | b |`), without its header."""
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("|")
    ]
    return rows[1:]


def _property_table(text: str) -> dict[str, str]:
    """glance's `| Property | Value |` table, continuation lines joined."""
    values: dict[str, str] = {}
    key = ""
    for row in _table_rows(text):
        if len(row) != 2:
            continue
        if row[0]:
            key = row[0]
            values[key] = row[1]
        elif key:
            values[key] += row[1]
    return values


# Running and comparing


def run_client(client: str, target: Target, venv: Path) -> list[Observation]:
    with tempfile.TemporaryDirectory(prefix=f"clients-{client}-") as workdir:
        run = Run(target, venv, Path(workdir), client)
        return list(CLIENTS[client](run))


def check(client: str, results: dict[str, list[Observation]]) -> tuple[int, int, dict[str, int]]:
    """Print each step; return (steps, differences between targets, failures per target)."""
    expected = EXPECTED[client]
    names = list(results)
    failures = dict.fromkeys(names, 0)
    differences = 0
    steps = list(expected)
    print(f"\n--- {client}: {len(steps)} steps")
    for step in steps:
        seen = {name: _find(results[name], step) for name in names}
        marks = []
        for name in names:
            observation = seen[name]
            ok = observation is not None and observation.observed == expected[step]
            failures[name] += not ok
            marks.append(f"{name}:{'ok' if ok else 'FAIL'}")
        differs = len(names) == 2 and _shown(seen[names[0]]) != _shown(seen[names[1]])
        differences += differs
        flag = "!" if differs or "FAIL" in " ".join(marks) else " "
        print(f" {flag} {step:<40} {' '.join(marks)}{'  (targets differ)' if differs else ''}")
        if flag == "!":
            print(f"     expected {json.dumps(expected[step])}")
            for name in names:
                observation = seen[name]
                shown = _shown(observation)
                print(f"     {name:<8} {json.dumps(shown)[:300]}")
    return len(steps), differences, failures


def _find(observations: list[Observation], step: str) -> Observation | None:
    return next((o for o in observations if o.step == step), None)


def _shown(observation: Observation | None) -> Any:
    return None if observation is None else [observation.observed, observation.detail]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients-venv", required=True, type=Path)
    parser.add_argument("--against", choices=("builtin", "glance", "both"), default="builtin")
    parser.add_argument("--client", choices=tuple(CLIENTS), action="append")
    args = parser.parse_args()
    venv = args.clients_venv.resolve()
    clients = args.client or list(CLIENTS)
    started = time.monotonic()
    results: dict[str, dict[str, list[Observation]]] = {client: {} for client in clients}
    with tempfile.TemporaryDirectory(prefix="clients-run-") as workdir:
        if args.against in ("builtin", "both"):
            with builtin_cloud(Path(workdir)) as target:
                for client in clients:
                    results[client][target.name] = run_client(client, target, venv)
        if args.against in ("glance", "both"):
            with real_glance() as target:
                for client in clients:
                    results[client][target.name] = run_client(client, target, venv)
    failed = False
    summary = []
    for client in clients:
        steps, differences, failures = check(client, results[client])
        failed |= differences > 0 or any(failures.values())
        passes = ", ".join(f"{name} {steps - count}/{steps}" for name, count in failures.items())
        summary.append(f"{client}: {passes}; targets differ in {differences}")
    print("\n" + "\n".join(summary))
    verdict = "FAILED" if failed else "passed"
    print(f"Client workflow {verdict} in {time.monotonic() - started:.0f}s.")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
