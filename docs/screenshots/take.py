"""Screenshots of the image page, the approval queue, the history and the image lines,
desktop and phone.

Run against a demo (`make demo` in another shell, then a few requests and shares made):

    .venv/bin/python docs/screenshots/take.py http://127.0.0.1:8000 after [lines,line]

The optional third argument names the pages to take (default: all).

It writes docs/screenshots/<label>-<page>-<desktop|phone>.png with Debian's Chromium.
"""

import os
import shutil
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}
PAGES = {
    "image": "/t/acme/images/{image}/?region=IAD",
    "queue": "/t/acme/requests/",
    "history": "/t/acme/history/",
    "lines": "/t/acme/lines/",
    "line": "/t/acme/lines/web-base/",
}
# "Windows Server 2022 build agent" in IAD (the built-in cloud's fixed ids).
IMAGE = os.environ.get("SCREENSHOT_IMAGE", "")


def main(base: str, label: str, only: list[str]) -> None:
    from builtin_cloud.seed import ACME, seed_image_id

    image = IMAGE or seed_image_id("IAD", ACME, "Windows Server 2022 build agent")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        for size, (width, height) in SIZES.items():
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(f"{base}/accounts/login/")
            page.get_by_label("Username").fill("alice")
            page.get_by_label("Password").fill(os.environ.get("DEMO_PASSWORD", "demo-password"))
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(f"{base}/t/**")
            for name, path in PAGES.items():
                if only and name not in only:
                    continue
                page.goto(base + path.format(image=image))
                page.screenshot(path=HERE / f"{label}-{name}-{size}.png", full_page=False)
            page.close()
        browser.close()


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent.parent))
    main(sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3].split(",") if len(sys.argv) > 3 else [])
