"""Page views against a cloud over TLS: one session per thread (connections reused from one view
to the next) against a new session per view, which pays a TCP and TLS handshake every time.

The built-in cloud is served over HTTPS by gunicorn (threaded workers, keep-alive) on 127.0.0.1
with a throwaway self-signed certificate; the dashboard's images page is rendered with the
Django test client against a migrated temporary SQLite database. Each variant renders the page
`--reps` times after a warm-up; the token is cached, so each view makes one `images_list` call.

    .venv/bin/python bench/cloud_connections.py [--reps 200] [--images 25]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _setup

WSGI = """
import os
from builtin_cloud import CloudState, FakeCloudApp
application = FakeCloudApp(CloudState(os.environ["BENCH_CLOUD_DB"]), os.environ["BENCH_CLOUD_URL"])
"""


def _certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(  # noqa: S603
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",  # noqa: S607
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def _wait(url: str, cert: Path) -> None:
    import requests

    for _ in range(100):
        try:
            requests.get(url, verify=str(cert), timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise SystemExit(f"the cloud did not start at {url}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--images", type=int, default=25)
    parser.add_argument("--port", type=int, default=8795)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-tls-"))
    cert, key = _certificate(folder)
    url = f"https://127.0.0.1:{args.port}"
    os.environ["REQUESTS_CA_BUNDLE"] = str(cert)
    _setup.configure(_setup.sqlite_temp_url())
    _setup.header("cloud_connections: page views over TLS, connections reused or not")

    from django.test import Client
    from django.test.utils import setup_test_environment

    from builtin_cloud import CloudState
    from sharing import clouds
    from sharing.cloud import http as cloud_http

    setup_test_environment()
    _setup.migrate()
    db = folder / "cloud.sqlite3"
    state = CloudState(str(db))
    for tenant, name in [(_setup.ACME, "Acme"), (_setup.GLOBEX, "Globex")]:
        state.add_account(tenant, name)
        state.add_user(f"{name.lower()}-admin", tenant, api_key=_setup.CLOUD_API_KEY)
    for n in range(args.images):
        state.create_image(owner=_setup.ACME, region="IAD", name=f"image-{n:03}")
    (folder / "bench_cloud_wsgi.py").write_text(WSGI)
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "gunicorn", "--chdir", str(folder), "--bind",
         f"127.0.0.1:{args.port}", "--worker-class", "gthread", "--threads", "4",
         "--workers", "1", "--keep-alive", "30", "--certfile", str(cert), "--keyfile", str(key),
         "--log-level", "warning", "bench_cloud_wsgi:application"],
        env={**os.environ, "BENCH_CLOUD_DB": str(db), "BENCH_CLOUD_URL": url,
             "PYTHONPATH": str(_setup.ROOT)},
    )  # fmt: skip
    try:
        _wait(f"{url}/iad/images/versions", cert)
        team = _setup.make_team("acme", identity_url=f"{url}/identity")
        alice = _setup.make_member(team, "alice", "admin")
        client = Client()
        client.force_login(alice)

        import urllib3.connection

        connects = {"n": 0}
        real_connect = urllib3.connection.HTTPSConnection.connect

        def counting_connect(self) -> None:
            connects["n"] += 1
            real_connect(self)

        urllib3.connection.HTTPSConnection.connect = counting_connect  # type: ignore[method-assign]

        def handshakes(fn) -> tuple[list[float], int]:
            before = connects["n"]
            samples = _setup.timed(fn, reps=args.reps)
            return samples, connects["n"] - before

        def view() -> None:
            response = client.get("/t/acme/images/")
            assert response.status_code == 200 and b"image-000" in response.content

        reused, reused_n = handshakes(view)
        real_session = clouds.thread_session
        clouds.thread_session = lambda: cloud_http.session_factory()  # the old way: one per view
        try:
            fresh, fresh_n = handshakes(view)
        finally:
            clouds.thread_session = real_session
        reused_again, again_n = handshakes(view)
    finally:
        server.terminate()
        server.wait(timeout=10)

    views = args.reps + 2  # with the warm-up views
    print(f"images page, {args.images} images, cloud over HTTPS on 127.0.0.1 (gunicorn)")
    for label, samples, count in [
        ("one session per thread (now)", reused, reused_n),
        ("a new session per view (before)", fresh, fresh_n),
        ("one session per thread, again", reused_again, again_n),
    ]:
        print(f"  {label:34} {_setup.summary(samples)}; {count} TLS handshakes in {views} views")
    now = _setup.median(reused + reused_again)
    print(f"  saved per view: {(_setup.median(fresh) - now) * 1000:.1f} ms "
          f"({_setup.median(fresh) / now:.2f}x)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
