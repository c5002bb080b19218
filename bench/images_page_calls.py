"""The cloud calls behind the images page and the image page, per route, cold and warm.

In-process: the Django test client against a migrated temporary SQLite database, a team wired
to the built-in cloud as tests/conftest.py does, a few dozen images. A logged-in admin views
`/t/<team>/images/` twice, then one image's page twice; the call counters are reset before each
view. The first view starts with an empty token cache: one identity call plus one list call.
Every later view must reuse the cached token: the second images view makes exactly one
`images_list` call, else the script exits with status 1.

    .venv/bin/python bench/images_page_calls.py [--images 40] [--reps 20]
"""

import argparse
import sys
import time

import _setup


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=40, help="images of the team in IAD")
    parser.add_argument("--reps", type=int, default=20, help="timed warm views per page")
    args = parser.parse_args()

    _setup.configure(_setup.sqlite_temp_url())
    _setup.header("images_page_calls: cloud calls per page view")

    from django.core.cache import cache
    from django.test import Client
    from django.test.utils import setup_test_environment

    from builtin_cloud.state import ROUTES
    from sharing import services

    setup_test_environment()
    _setup.migrate()
    state, _app = _setup.builtin_cloud()
    team = _setup.make_team("acme")
    alice = _setup.make_member(team, "alice", "admin")

    image_ids = [
        state.create_image(owner=_setup.ACME, region="IAD", name=f"image-{n:03}")["id"]
        for n in range(args.images)
    ]
    for n in range(5):  # noise the page must not show: other regions, other owners
        state.create_image(owner=_setup.ACME, region="DFW", name=f"dfw-{n}")
        state.create_image(owner=_setup.GLOBEX, region="IAD", name=f"globex-{n}")
    shared = image_ids[0]
    services.image_share(
        team=team,
        actor=alice,
        region="IAD",
        image_id=shared,
        tenants=[_setup.GLOBEX, _setup.INITECH],
    )
    state.add_member(shared, "100004", "accepted")  # shared outside the dashboard

    client = Client()
    client.force_login(alice)
    cache.clear()  # the first view starts with no token

    def view(url: str) -> tuple[dict[str, int], float, int]:
        state.reset_counters()
        started = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - started
        calls = {route: state.calls(route) for route in ROUTES if state.calls(route)}
        if response.status_code == 200 and "rows" in response.context:
            assert len(response.context["rows"]) == min(25, args.images), "not a full page"
        return calls, elapsed, response.status_code

    images_url = "/t/acme/images/"
    image_url = f"/t/acme/images/{shared}/"
    cold = {"identity_rackspace": 1, "images_list": 1}
    detail = {"image_get": 1, "members_list": 1}
    plan = [
        ("images page, 1st view (cold token cache)", images_url, cold),
        ("images page, 2nd view", images_url, {"images_list": 1}),
        ("image page, 1st view", image_url, detail),
        ("image page, 2nd view", image_url, detail),
    ]
    print(f"team acme: {args.images} images in IAD (+10 it must not list); page size 25")
    print(f"{'view':42} {'status':>6} {'time':>10}  calls per route")
    results = []
    for label, url, expected in plan:
        calls, elapsed, status = view(url)
        verdict = "as expected" if calls == expected and status == 200 else f"EXPECTED {expected}"
        results.append((label, calls, status))
        routes = ", ".join(f"{route} {count}" for route, count in calls.items()) or "none"
        print(f"{label:42} {status:>6} {_setup.ms(elapsed):>10}  {routes}  [{verdict}]")

    print()
    for label, url in [("images page, warm", images_url), ("image page, warm", image_url)]:
        samples = _setup.timed(lambda url=url: client.get(url), reps=args.reps, warmup=2)
        print(f"{label:22} {_setup.summary(samples)} per view (in-process cloud)")

    second = results[1]
    ok = second[1] == {"images_list": 1} and second[2] == 200
    print()
    if ok:
        print("PASS: the 2nd images view made exactly one images_list call and nothing else.")
    else:
        print(f"FAIL: the 2nd images view made {second[1]} (status {second[2]}).")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
