"""Opening HTML in Debian's real headless Chromium, driven by Playwright.

Playwright's own browser download does not work on these machines, so it drives
`/usr/bin/chromium`. Without it the browser tests skip with a message saying how to install it,
except under CI, where they must run.
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).parent / "artifacts"


def require_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    message = "Chromium is not installed: `apt-get install -y chromium` (Debian), then run the tests again"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def open_page(path: Path):
    """The page loaded from a file, with every console error and every network request recorded."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.console_errors, page.requests, page.dialogs = [], [], []
            page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
            page.on("pageerror", lambda e: page.console_errors.append(str(e)))
            page.on("request", lambda r: page.requests.append(r.url))
            page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
            page.goto(path.absolute().as_uri())
            page.wait_for_load_state("load")
            yield page
        finally:
            browser.close()


def external_requests(page, path: Path) -> list[str]:
    """Requests for anything but the page itself and inline data."""
    own = path.absolute().as_uri()
    return [url for url in page.requests if url != own and not url.startswith("data:")]


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / name
    page.screenshot(path=str(target), full_page=True)
    return target
