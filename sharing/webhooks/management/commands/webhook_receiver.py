"""A local webhook receiver that prints each event and whether its signature verified."""

import json

from django.core.management.base import BaseCommand

from sharing.webhooks.models import Endpoint
from sharing.webhooks.receiver import OK, Received, Receiver

DEMO_PORT = 8001


class Command(BaseCommand):
    help = (
        "Receive webhooks on 127.0.0.1 and print each event, verified with the standardwebhooks "
        "package. Without --secret it uses the secrets of the endpoints whose URL is its own "
        "(the demo's: `seed_demo` adds one for team acme)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=DEMO_PORT)
        parser.add_argument("--secret", action="append", default=[], help="whsec_…; repeatable")

    def handle(self, *args, **options):
        receiver = Receiver(options["secret"], port=options["port"])
        if not receiver.secrets:
            for endpoint in Endpoint.objects.filter(url=receiver.url):
                receiver.secrets += endpoint.signing_secrets()
        receiver.respond = self._print
        self.stdout.write(f"Listening on {receiver.url} with {len(receiver.secrets)} secret(s).")
        with receiver:
            try:
                receiver._thread.join()
            except KeyboardInterrupt:
                self.stdout.write("Stopped.")

    def _print(self, received: Received):
        if not received.verified:
            self.stdout.write(self.style.ERROR("✗ signature did not verify: answered 401"))
            return 401, {}, b"bad signature"
        event = received.event
        line = f"✓ {event['type']} {received.headers.get('webhook-id')} {event['timestamp']}"
        self.stdout.write(self.style.SUCCESS(line))
        self.stdout.write("  " + json.dumps(event["data"], sort_keys=True))
        return OK
