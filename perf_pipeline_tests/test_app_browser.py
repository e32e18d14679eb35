"""The performance app in real headless Chromium, served by a real uvicorn server: each page type
as a signed-in user with the keyboard only, axe-core's accessibility rules with no violation, no
request leaving the site, and a screenshot of each page type in `perf_pipeline_tests/artifacts/`."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

from perf_pipeline_tests.app_support import APPROVED, DRAFT, OWN, PASSWORD, app_root
from perf_pipeline_tests.browser import ARGS, CHROMIUM, require_chromium, screenshot

pytestmark = pytest.mark.e2e

PAGES = {
    "overview": f"/q/{DRAFT}/",
    "indicator": f"/q/{DRAFT}/indicators/{OWN}",
    "attention": f"/q/{DRAFT}/attention",
    "plan": f"/q/{DRAFT}/plan",
    "value-for-money": f"/q/{DRAFT}/value-for-money",
    "directorates": f"/q/{DRAFT}/directorates/",
    "portfolio": f"/q/{DRAFT}/portfolios/resources",
    "search": "/search?q=council+tax",
    "programmes": f"/q/{DRAFT}/programmes",
    "programme": f"/q/{DRAFT}/programmes/CP1",
    "risks": f"/q/{DRAFT}/risks",
    "tags": f"/q/{DRAFT}/tags?vocabulary=operating_principle&value=digital",
    "levels": f"/q/{DRAFT}/levels/",
    "approved-indicator": f"/q/{APPROVED}/indicators/ASC02",
    "not-found": f"/q/{DRAFT}/indicators/NOPE",
}


@contextmanager
def serving(root: Path):
    """The app on a free port of 127.0.0.1 in a real uvicorn server, stopped afterwards."""
    import uvicorn

    from perf_pipeline.app.server import Settings, create_app

    server = uvicorn.Server(
        uvicorn.Config(create_app(Settings(data_root=root)), host="127.0.0.1", port=0, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def browser_session(demo, tmp_path_factory):
    require_chromium()
    from playwright.sync_api import sync_playwright

    root = app_root(demo, tmp_path_factory.mktemp("browser") / "data")
    with serving(root) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        # axe-core is injected by the test; the app's own policy allows no script at all.
        context = browser.new_context(viewport={"width": 1200, "height": 900}, bypass_csp=True)
        page = context.new_page()
        page.requests = []
        page.on("request", lambda r: page.requests.append(r.url))
        try:
            yield base, page
        finally:
            browser.close()


def sign_in_with_the_keyboard(base: str, page) -> None:
    page.goto(base + "/")
    assert page.url.startswith(base + "/login")
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "name"
    page.keyboard.type("team")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/q/**")


@pytest.mark.long
def test_every_page_type_is_accessible_works_by_keyboard_and_fetches_nothing_from_outside(browser_session):
    from axe_playwright_python.sync_playwright import Axe

    base, page = browser_session
    sign_in_with_the_keyboard(base, page)
    assert page.url == f"{base}/q/{DRAFT}/"
    axe = Axe()
    problems = {}
    for name, url in PAGES.items():
        page.goto(base + url)
        page.wait_for_load_state("load")
        results = axe.run(page).response
        problems.update(
            {f"{name}: {v['id']}": [n["target"] for n in v["nodes"]][:3] for v in results["violations"]}
        )
        screenshot(page, f"app-{name}.png")
    assert not problems, problems
    outside = [u for u in page.requests if not u.startswith(base) and not u.startswith("data:")]
    assert not outside


def test_a_councillor_follows_links_from_the_overview_to_an_indicator_by_keyboard(browser_session):
    base, page = browser_session
    page.goto(f"{base}/q/{DRAFT}/")
    if page.url.startswith(base + "/login"):  # its worker did not run the test that signs in
        sign_in_with_the_keyboard(base, page)
        page.goto(f"{base}/q/{DRAFT}/")
    link = page.locator(f"a[href='/q/{DRAFT}/indicators/{OWN}']").first
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/q/{DRAFT}/indicators/{OWN}")
    assert page.locator("h1").inner_text()
    assert page.locator("figure svg[role=img]").count() >= 1
    assert "DRAFT" in page.locator(".draft-banner").inner_text()
