"""Settings come from the environment and refuse bad values at start-up."""

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "SECRET_KEY": "x8#Lq2!vTz9@pR4$wN7^kM1&hJ6*bF3(cD5)gS0-aE2+yU8=iO4",
    "CREDENTIALS_KEY": Fernet.generate_key().decode(),
    "LEDGER_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),
    "ALLOWED_HOSTS": "dashboard.example.com",
    "DEBUG": "0",
    "DATABASE_URL": "sqlite:////tmp/check-deploy.sqlite3",
    "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.com:587",
}


def run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    dropped = PRODUCTION | {"HTTPS": "", "DJANGO_ALLOW_ASYNC_UNSAFE": ""}
    clean = {k: v for k, v in os.environ.items() if k not in dropped}
    clean["DJANGO_SETTINGS_MODULE"] = "sharing.settings"
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True
    )


def load_settings(**env: str) -> subprocess.CompletedProcess:
    return run(["-c", "import sharing.settings"], **env)


def test_production_settings_load():
    assert load_settings(**PRODUCTION).returncode == 0


def test_check_deploy_reports_no_warnings_with_https_on():
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION, HTTPS="1"
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_a_missing_secret_key_is_refused_outside_debug():
    result = load_settings(**{**PRODUCTION, "SECRET_KEY": ""})
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_demo_runs_without_secret_key_or_credentials_key():
    env = {
        **PRODUCTION,
        "SECRET_KEY": "",
        "CREDENTIALS_KEY": "",
        "LEDGER_SIGNING_KEY": "",
        "DEMO": "1",
    }
    assert load_settings(**env).returncode == 0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEBUG", "maybe"),
        ("DEMO", "sometimes"),
        ("CREDENTIALS_KEY", "not-a-fernet-key"),
        ("LEDGER_SIGNING_KEY", "too-short"),
        ("LEDGER_SIGNING_KEY", ""),
        ("DATABASE_URL", "nosuchdb://x"),
        ("CLOUD_READ_TIMEOUT", "soon"),
        ("CLOUD_SHARE_CONCURRENCY", "0"),
        ("CACHE_URL", "nosuchcache://x"),
        ("AXES_FAILURE_LIMIT", "0"),
        ("AXES_COOLOFF_MINUTES", "half an hour"),
        ("CONN_MAX_AGE", "forever"),
        ("CONN_HEALTH_CHECKS", "perhaps"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(name, value):
    result = load_settings(**{**PRODUCTION, name: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert name in result.stderr.splitlines()[-1]
