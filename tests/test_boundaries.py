"""The layers keep to their seams: what each module may import, and where tests may reach."""

import socket
import subprocess
import sys

import pytest
import requests

from .conftest import ROOT, NetworkGuardError


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", **env},
        timeout=60,
    )


def test_the_cloud_module_imports_no_django():
    code = (
        "import sys, sharing.cloud, sharing.cloud.images, sharing.cloud.identity; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    )
    result = _python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_production_process_never_imports_the_built_in_cloud():
    code = (
        "import django, sys; django.setup(); "
        "from django.urls import resolve; import sharing.urls, sharing.views, sharing.tasks; "
        "resolve('/t/acme/images/'); "
        "print('builtin_cloud' in sys.modules)"
    )
    result = _python(code, DJANGO_SETTINGS_MODULE="tests.settings")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_the_demo_process_mounts_the_built_in_cloud(tmp_path):
    code = "import django, sys; django.setup(); print('builtin_cloud' in sys.modules)"
    result = _python(
        code,
        DJANGO_SETTINGS_MODULE="tests.settings",
        DEMO="1",
        FAKE_CLOUD_DB=str(tmp_path / "cloud.sqlite3"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_a_test_that_reaches_beyond_loopback_fails_loudly():
    with pytest.raises(NetworkGuardError, match="a lookup of 'example.com' was refused"):
        requests.get("http://example.com/", timeout=1)
    with pytest.raises(NetworkGuardError, match="'192.0.2.1' was refused"):
        requests.get("http://192.0.2.1/", timeout=1)
    with socket.socket() as raw, pytest.raises(NetworkGuardError, match="a connection to"):
        raw.connect(("192.0.2.1", 80))


def test_loopback_stays_open(live_server):
    assert requests.get(f"{live_server.url}/healthz", timeout=5).text == "ok"


def test_only_the_ledger_service_completes_or_settles_entries():
    """Completions and settlements go through services/ledger.py, which chains them and writes
    their webhook events in the same transaction; a direct call would skip both."""
    import re

    direct = re.compile(r"\.(complete|settle)\(")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in (ROOT / "sharing").rglob("*.py")
        if path.name != "ledger.py" and "migrations" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if direct.search(line) and not line.lstrip().startswith("def ")
    ]
    assert offenders == []
