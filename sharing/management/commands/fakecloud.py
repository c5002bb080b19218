from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from builtin_cloud import CloudState, FakeCloudApp, seed_demo_cloud
from builtin_cloud.server import serve


class Command(BaseCommand):
    help = "Serve the built-in cloud over HTTP on 127.0.0.1 (for the CLI, timeouts and resets)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8774)
        parser.add_argument(
            "--db",
            default=None,
            help="SQLite file for its state: by default FAKE_CLOUD_DB, the demo's cloud, so "
            "that the dashboard and this server share one cloud; ':memory:' keeps it in memory.",
        )
        parser.add_argument("--seed", action="store_true", help="Fill it with the demo data.")

    def handle(self, *args, **options):
        port = options["port"]
        path = options["db"] or settings.FAKE_CLOUD_DB
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        state = CloudState(path)
        if options["seed"]:
            seed_demo_cloud(state)
        base_url = f"http://127.0.0.1:{port}"
        self.stdout.write(
            f"Built-in cloud on {base_url} (state in {path}): identity at {base_url}/identity "
            "(Rackspace /v2.0/tokens, Keystone /v3/auth/tokens), images of IAD at "
            f"{base_url}/iad/images. Ctrl-C stops it.",
        )
        self.stdout.flush()
        serve(FakeCloudApp(state, base_url), host="127.0.0.1", port=port)
