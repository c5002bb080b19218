"""Real OpenStack Glance 33.0.0 on 127.0.0.1, for the conformance run.

    python conformance/glance_server.py      # install if needed, serve until Ctrl-C

Glance is installed with pip into its own Python 3.11 virtualenv, cached under
`${XDG_CACHE_HOME:-~/.cache}/image-sharing-dashboard/glance-33.0.0-<hash>`; the hash covers
`requirements-glance.txt` and the Python version, so reruns on one machine reuse the venv.
Each start gets a fresh directory with its own SQLite database (`glance-manage db_sync`), image
store and config, and serves Glance's WSGI app (`glance.wsgi.api:application`) with uWSGI, as
devstack does: one process, one thread, so that SQLite sees one request at a time.

The paste pipeline (glance/glance-api-paste.ini) has no Keystone: Glance's own context
middleware takes the caller from the X-Identity-Status, X-Project-Id, X-User-Id and X-Roles
headers, so ownership and policy are Glance's. Anyone who can reach the port is whoever they
claim to be: it only ever binds to 127.0.0.1.
"""

import contextlib
import fcntl
import glob
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements-glance.txt"
CONFIG_DIR = HERE / "glance"
CONFIG_FILES = ("glance-api.conf", "glance-api-paste.ini")
GLANCE_VERSION = "33.0.0"
START_TIMEOUT = 90.0


class GlanceError(RuntimeError):
    """Glance could not be installed or started; the message says why."""


def log(message: str) -> None:
    print(f"[glance] {message}", file=sys.stderr, flush=True)


# The virtualenv


def find_python() -> str:
    """Python 3.11: $GLANCE_PYTHON, pyenv's, or python3.11 on the PATH.

    pyenv's comes before the PATH's because uWSGI is compiled against the Python that builds
    the venv, and needs its headers and shared libpython (Debian's python3.11 has neither
    without the -dev packages).
    """
    candidates = [os.environ.get("GLANCE_PYTHON", "")]
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        prefix = subprocess.run(
            ["pyenv", "prefix", "3.11"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if prefix:
            candidates += [f"{line}/bin/python3.11" for line in prefix.split(":")]
    pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates += sorted(glob.glob(f"{pyenv_root}/versions/3.11.*/bin/python3.11"), reverse=True)
    candidates.append(shutil.which("python3.11") or "")
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise GlanceError(
        "Glance 33 needs Python 3.11, which was not found: install it (for example "
        "'pyenv install 3.11') or point GLANCE_PYTHON at a python3.11."
    )


def _python_version(python: str) -> str:
    return subprocess.run(
        [python, "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def venv_dir(python: str) -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    digest = hashlib.sha256(REQUIREMENTS.read_bytes() + _python_version(python).encode())
    name = f"glance-{GLANCE_VERSION}-{digest.hexdigest()[:12]}"
    return cache / "image-sharing-dashboard" / name


def ensure_venv() -> Path:
    """The cached virtualenv with Glance and uWSGI, built on first use."""
    python = find_python()
    venv = venv_dir(python)
    done = venv / ".complete"
    if done.exists():
        return venv
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two runs at once build it once
        if done.exists():
            return venv
        shutil.rmtree(venv, ignore_errors=True)  # a half-built one from an interrupted run
        log(f"installing glance {GLANCE_VERSION} into {venv} (once: one to two minutes)")
        started = time.monotonic()
        _run([python, "-m", "venv", str(venv)], "create the virtualenv")
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        _run([*pip, "--upgrade", "pip"], "upgrade pip")
        _run([*pip, "-r", str(REQUIREMENTS)], "install glance and uwsgi")
        done.write_text(f"{time.time()}\n")
        log(f"installed in {time.monotonic() - started:.0f}s")
    return venv


def _run(command: list[str], what: str, **kwargs) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()
        tail = "\n".join(output[-40:])
        raise GlanceError(f"Could not {what} (exit {result.returncode}):\n{tail}")


# The server


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _prepare(workdir: Path, venv: Path) -> dict[str, str]:
    for sub in ("images", "staging", "tasks", "locks"):
        (workdir / sub).mkdir()
    for name in CONFIG_FILES:
        text = (CONFIG_DIR / name).read_text().replace("@WORKDIR@", str(workdir))
        (workdir / name).write_text(text)
    env = {
        **os.environ,
        "OS_GLANCE_CONFIG_DIR": str(workdir),
        "PYTHONWARNINGS": "ignore",
    }
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)
    manage = [str(venv / "bin" / "glance-manage"), "--config-file", str(workdir / CONFIG_FILES[0])]
    _run([*manage, "db_sync"], "create Glance's database (glance-manage db_sync)", env=env)
    return env


class GlanceServer:
    """One uWSGI serving Glance on 127.0.0.1; `url` is its root (versions at /versions)."""

    def __init__(self, venv: Path, workdir: Path, env: dict[str, str]) -> None:
        self.venv = venv
        self.workdir = workdir
        self.env = env
        self.port = 0
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "uwsgi.log"

    def start(self) -> None:
        for _ in range(3):  # the free port may be taken between probe and bind
            self.port = _free_port()
            command = [
                str(self.venv / "bin" / "uwsgi"),
                "--http-socket",
                f"127.0.0.1:{self.port}",
                "--module",
                "glance.wsgi.api:application",
                "--master",
                "--processes",
                "1",
                "--threads",
                "1",
                "--need-app",
                "--die-on-term",
                "--lazy-apps",
                "--buffer-size",
                "65535",
                # --http-socket closes every connection after one response: say so, or
                # clients reuse it and get a reset.
                "--add-header",
                "Connection: close",
                "--logto",
                str(self.log_path),
            ]
            self.process = subprocess.Popen(
                command,
                cwd=self.workdir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # its own process group, stopped as one
            )
            if self._wait_ready():
                return
            self.stop()
        raise GlanceError(f"uWSGI did not serve Glance:\n{self.log_tail()}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.url + "/versions", timeout=2).status_code == 200:
                    return True
            time.sleep(0.2)
        return False

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)

    def log_tail(self, lines: int = 40) -> str:
        text = ""
        for path in (self.log_path, self.workdir / "glance-api.log"):
            if path.exists():
                text += f"--- {path.name}\n" + "\n".join(path.read_text().splitlines()[-lines:])
        return text or "(no log)"


@contextlib.contextmanager
def running_glance() -> Iterator[str]:
    """Install (once), start a fresh Glance, yield its root URL; stop and clean up after."""
    venv = ensure_venv()
    workdir = Path(tempfile.mkdtemp(prefix="glance-conformance-"))
    server = GlanceServer(venv, workdir, {})
    try:
        server.env = _prepare(workdir, venv)
        started = time.monotonic()
        server.start()
        log(f"serving on {server.url} (ready in {time.monotonic() - started:.1f}s)")
        yield server.url
    finally:
        server.stop()
        if os.environ.get("KEEP_GLANCE_WORKDIR"):
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with running_glance() as url:
        print(f"Glance {GLANCE_VERSION} at {url}; Ctrl-C stops it.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()


if __name__ == "__main__":
    main()
