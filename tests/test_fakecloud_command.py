"""`manage.py fakecloud`: the built-in cloud served on its own, in a process of its own."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from builtin_cloud import CloudState

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def fakecloud(*args: str, env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "fakecloud", "--port", str(port), *args],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "1", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                requests.get(f"{base_url}/identity", timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "fakecloud did not start"
                time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_it_keeps_its_state_in_fake_cloud_db_as_the_demo_does(tmp_path):
    path = tmp_path / "cloud" / "state.sqlite3"
    with fakecloud("--seed", env={"FAKE_CLOUD_DB": str(path)}) as base_url:
        login = requests.post(
            f"{base_url}/identity/v2.0/tokens",
            json={
                "auth": {
                    "RAX-KSKEY:apiKeyCredentials": {
                        "username": "acme-admin",
                        "apiKey": "demo-api-key",
                    }
                }
            },
            timeout=5,
        )
        assert login.status_code == 200
    assert path.exists()
    assert len(CloudState(str(path)).images("IAD")) > 10


def test_db_overrides_fake_cloud_db(tmp_path):
    env_path, option_path = tmp_path / "env.sqlite3", tmp_path / "option.sqlite3"
    with fakecloud("--seed", "--db", str(option_path), env={"FAKE_CLOUD_DB": str(env_path)}):
        pass
    assert option_path.exists()
    assert not env_path.exists()


def test_it_serves_identity_discovery_and_glance_at_the_documented_urls(tmp_path):
    with fakecloud("--seed", env={"FAKE_CLOUD_DB": str(tmp_path / "c.sqlite3")}) as base_url:
        assert requests.get(f"{base_url}/identity", timeout=5).status_code == 300
        versions = requests.get(f"{base_url}/iad/images/versions", timeout=5)
        assert versions.status_code == 200
