"""The client's cost per member create, against a bare `requests.Session` doing the same POSTs.

Both talk to the built-in cloud served on a local socket (`running_server`, default) or
in-process (`--transport inprocess`), with the same token and headers. The client
(`ImagesClient.create_member`) adds its retry policy, error mapping and parsing of the answer
into a `MemberResult`; the bare loop sends the POST and checks the status code, nothing else.

Each repetition makes N creates with each contender, every create on a fresh tenant and images
fresh per contender and repetition (at most --per-image members each, under the member limit);
the contenders alternate which goes first.

    .venv/bin/python bench/client_create.py [--creates 300] [--reps 11] [--transport socket]
"""

import argparse
import itertools
import math
import sys
import time
from contextlib import nullcontext

import _setup


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--creates", type=int, default=300, help="creates per repetition")
    parser.add_argument("--reps", type=int, default=11, help="timed repetitions")
    parser.add_argument("--per-image", type=int, default=100, help="members per fresh image")
    parser.add_argument("--transport", choices=["socket", "inprocess"], default="socket")
    args = parser.parse_args()

    _setup.configure(_setup.sqlite_temp_url())  # no database is touched
    _setup.header("client_create: cost per member create, client vs bare requests.Session")

    import requests
    from django.conf import settings

    from builtin_cloud import FakeCloudApp, make_session, running_server
    from sharing import clouds
    from sharing.cloud import http
    from sharing.cloud.identity import CloudAccount
    from sharing.cloud.images import ImagesClient

    state = _setup.new_cloud_state()
    state.member_limit = max(128, args.per_image)
    app = FakeCloudApp(state, settings.FAKE_CLOUD_URL)
    serving = running_server(app) if args.transport == "socket" else nullcontext(app.base_url)
    tenants = (str(n) for n in itertools.count(300000))

    with serving as base_url:
        if args.transport == "inprocess":
            clouds.use_builtin_cloud(app)
            bare_session = make_session(app)
        else:
            bare_session = requests.Session()
        account = CloudAccount(
            auth_kind="rackspace-apikey",
            identity_url=f"{base_url}/identity",
            username="acme-admin",
            secret=_setup.CLOUD_API_KEY,
        )
        client = ImagesClient(account, "IAD")  # authenticates once; the token is cached
        headers = {**http.HEADERS, "X-Auth-Token": client._auth.token}
        timeout = (settings.CLOUD_CONNECT_TIMEOUT, settings.CLOUD_READ_TIMEOUT)

        def fresh_images(n: int) -> list[str]:
            return [
                state.create_image(owner=_setup.ACME, region="IAD", name=f"bench-{i}")["id"]
                for i in range(math.ceil(n / args.per_image))
            ]

        def run_client(n: int) -> float:
            images = fresh_images(n)
            work = [(images[i // args.per_image], next(tenants)) for i in range(n)]
            started = time.perf_counter()
            for image_id, tenant in work:
                result = client.create_member(image_id, tenant)
                assert result.created
            return (time.perf_counter() - started) / n

        def run_bare(n: int) -> float:
            images = fresh_images(n)
            work = [
                (f"{client.root}/v2/images/{images[i // args.per_image]}/members", next(tenants))
                for i in range(n)
            ]
            started = time.perf_counter()
            for url, tenant in work:
                response = bare_session.post(
                    url, json={"member": tenant}, headers=headers, timeout=timeout
                )
                assert response.status_code == 200, response.status_code
            return (time.perf_counter() - started) / n

        # Warm-up: connections, code paths, SQLite pages.
        run_client(50)
        run_bare(50)
        state.reset_counters()

        client_samples, bare_samples = [], []
        for rep in range(args.reps):
            order = [(run_client, client_samples), (run_bare, bare_samples)]
            for run, samples in order if rep % 2 == 0 else reversed(order):
                samples.append(run(args.creates))
        calls = {route: state.calls(route) for route in ("member_create", "member_get")}
        other = state.calls() - sum(calls.values())

    total = args.creates * args.reps
    med_client, med_bare = _setup.median(client_samples), _setup.median(bare_samples)
    print(f"transport: {args.transport} ({base_url})")
    print(f"creates per repetition: {args.creates} per contender, {args.reps} repetitions")
    print(f"client (ImagesClient.create_member): {_setup.summary(client_samples)} per create")
    print(f"bare requests.Session POST loop:     {_setup.summary(bare_samples)} per create")
    paired = [c / b for c, b in zip(client_samples, bare_samples, strict=True)]
    print(
        f"overhead: {med_client / med_bare:.2f}x ratio of medians "
        f"({(med_client - med_bare) * 1e6:.0f} µs per create); per repetition (paired) "
        f"median {_setup.median(paired):.2f}x (min {min(paired):.2f}, max {max(paired):.2f})"
    )
    print(
        f"cloud calls during the timed runs: member_create {calls['member_create']} "
        f"(expected {2 * total}), member_get {calls['member_get']}, other {other}"
    )
    ok = calls["member_create"] == 2 * total and calls["member_get"] == 0 and other == 0
    if not ok:
        print("UNEXPECTED: the client made calls other than one POST per create.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
