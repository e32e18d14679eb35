"""One quarter from draft to scrutiny in real Chromium against a real uvicorn server: every review
stage signed by the right people, a narrative written and approved, a corrective action recorded
and promoted to the improvement plan, a scrutiny item proposed and accepted; then a figure is
corrected after Cabinet approved, the quarter is rebuilt by the pipeline, and the report and the
app show the whole chain with the warning, the old sign-offs kept. Every page is checked by axe-core."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3

import pandas as pd
import pytest

from perf_pipeline.app.accounts import Accounts
from perf_pipeline.lib.app_snapshot import snapshot_path
from perf_pipeline.lib.governance.report import plan_actions
from perf_pipeline.lib.governance.store import GovernanceStore
from perf_pipeline.lib.improvement_plan import load_plan, plan_status
from perf_pipeline.lib.quarters import Quarter
from perf_pipeline.settings import DataRoot
from perf_pipeline_tests.app_support import DRAFT, PASSWORD
from perf_pipeline_tests.browser import ARGS, CHROMIUM, require_chromium, screenshot
from perf_pipeline_tests.conftest import INPUT_FOLDERS, run_cli, write
from perf_pipeline_tests.test_app_browser import serving

pytestmark = pytest.mark.e2e

COMMITTEE = "Economy and Resources Scrutiny Committee"
PEOPLE = {
    "pat": ("performance_team", None, None),
    "sam": ("performance_team", None, None),
    "dee": ("officer", None, None),
    "cllr.harker": ("portfolio_holder", "Resources", None),
    "cllr.mills": ("viewer", None, COMMITTEE),
}


@pytest.fixture
def root(demo, tmp_path):
    """The example's full run with its Dagster instance, so that rebuilding the corrected quarter
    reads again only what the correction changed, as it would for the council."""
    root = tmp_path / "data"
    for folder in (*INPUT_FOLDERS, "warehouse", "app", ".dagster"):
        if (demo / folder).is_dir():
            shutil.copytree(demo / folder, root / folder)
    accounts = Accounts(root / "app")
    for name, (role, portfolio, committee) in PEOPLE.items():
        accounts.add(name, role, PASSWORD, portfolio, committee)
    return root


class Browser:
    """One signed-in person at a time, in a fresh browser context, with axe-core at hand."""

    def __init__(self, browser, base, violations: dict):
        from axe_playwright_python.sync_playwright import Axe

        self.browser, self.base, self.axe = browser, base, Axe()
        self.context = self.page = None
        self.violations = violations

    def as_(self, name: str):
        if self.context:
            self.context.close()
        self.context = self.browser.new_context(viewport={"width": 1200, "height": 900}, bypass_csp=True)
        self.page = self.context.new_page()
        self.page.goto(self.base + "/login")
        self.page.fill("#name", name)
        self.page.fill("#password", PASSWORD)
        self.page.click("form.login button")
        self.page.wait_for_url(f"{self.base}/**")
        return self.page

    def open(self, path: str, check: str | None = None):
        self.page.goto(self.base + path)
        if check:
            results = self.axe.run(self.page).response
            self.violations.update(
                {f"{check}: {v['id']}": v["nodes"][0]["target"] for v in results["violations"]}
            )
            screenshot(self.page, f"governance-{check}.png")
        return self.page

    def submit(self, form_selector: str, button: str, fields: dict | None = None):
        form = self.page.locator(form_selector).filter(has=self.page.get_by_role("button", name=button))
        for selector, value in (fields or {}).items():
            form.locator(selector).fill(value)
        form.get_by_role("button", name=button).click()
        self.page.wait_for_load_state("load")
        assert "Recorded as" in self.page.inner_text("main"), self.page.inner_text("main")[:600]


@pytest.mark.long
def test_a_quarter_walked_from_draft_to_scrutiny_then_a_figure_corrected(root):
    require_chromium()
    from playwright.sync_api import sync_playwright

    quarter = DRAFT
    review = f"/q/{quarter}/review"
    with sqlite3.connect(snapshot_path(root)) as con:
        performance = pd.read_sql_query(
            "select indicator_code, value, rag_status from performance where quarter = ?",
            con,
            params=[quarter],
        )
    red = performance[performance["rag_status"] == "Red"].sort_values("indicator_code").iloc[0]
    code = red["indicator_code"]
    violations = {}
    with serving(root) as base:
        with sync_playwright() as p:
            chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            b = Browser(chromium, base, violations)
            try:
                # The review chain, each stage by the people its council.toml entry names.
                b.as_("pat")
                b.open(review, check="review-draft")
                b.submit(
                    "form",
                    "Sign: the performance team checked",
                    {"textarea": "Figures checked against returns"},
                )
                b.as_("dee")
                b.open(review)
                b.submit("form", "Sign: the Corporate Management Team reviewed")
                # The narrative for a directorate, by a director; approved by the performance team.
                b.open(f"/q/{quarter}/narrative", check="narrative")
                b.page.select_option("#subject", "directorate|Resources & Governance")
                b.submit(
                    "form",
                    "Save the first version",
                    {
                        "#text": "Collection is **behind** plan:\n\n- staffing\n- a new system <b>bedding in</b>"
                    },
                )
                # A corrective action on an exception.
                b.open(f"/q/{quarter}/actions", check="actions")
                b.page.locator(f"summary:has-text('Record a corrective action for {code}')").click()
                b.submit(
                    "form",
                    "Record the action",
                    {
                        f"#action-{code}": "Extra recovery staff from January",
                        f"#owner-{code}": "Karen Whitfield",
                        f"#email-{code}": "karen.whitfield@darlington.example",
                        f"#due-{code}": "2026-03-31",
                    },
                )
                b.as_("cllr.harker")
                b.open(review)
                b.submit("form", "Sign: portfolio holders were briefed")
                b.submit("form", "Sign: Cabinet approved", {"textarea": "Cabinet, 11 November 2025"})
                b.as_("sam")
                b.open(f"/q/{quarter}/narrative")
                b.submit("form", "Approve version NA1")
                b.open(f"/q/{quarter}/actions")
                b.submit("form", "Add CA1 to the improvement plan")
                # Approved now: the scrutiny member opens the quarter, proposes, considers.
                b.as_("cllr.mills")
                b.open(f"/q/{quarter}/scrutiny", check="scrutiny-member")
                b.page.select_option("#subject_type", "indicator")
                b.submit(
                    "form",
                    "Propose for scrutiny",
                    {
                        "#scrutiny-subject": code,
                        "#question": "Why is this Red, and is the recovery plan enough?",
                    },
                )
                b.submit("form", "Accepted into the work plan: SC1")
                b.open(review)
                b.submit("form", "Sign: scrutiny considered")
                b.open(f"/q/{quarter}/scrutiny")
                b.submit("form", "Send feedback", {"#feedback-text": "Clear report; more on housing please."})
                b.as_("pat")
                page = b.open(review, check="review-signed")
                assert page.locator("text=✔ Signed").count() == 5
            finally:
                b.context.close()
            chromium.close()

        # A figure corrected after Cabinet approved, and the quarter rebuilt by the pipeline.
        corrected = round(float(red["value"]) * 0.9, 1)
        write(
            root / "corrections" / "zz-after-approval.csv",
            "correction_id,indicator_code,period,value,numerator,denominator,reason,requested_by,approved_by,approved_on\n"
            f"LATE-1,{code},{Quarter.parse(quarter).label},{corrected},,,Late audit adjustment,A Analyst,Head of Performance,2025-11-20\n",
        )
        assert run_cli("--data", str(root), "run", "--quarter", quarter) == 0

        html = (
            DataRoot(root).reports_for(Quarter.parse(quarter)) / "quarterly-monitoring-report.html"
        ).read_text()
        signoffs = GovernanceStore(root / "governance").records("signoff", quarter)
        cabinet = next(r for r in signoffs if r.content["stage"] == "cabinet_approved")
        warning = f"1 figure changed since Cabinet approved on {cabinet.at:%-d %B %Y}: {code}"
        assert f"Approved by Cabinet on {cabinet.at:%-d %B %Y}" in html
        assert warning in html
        assert "cllr.harker (portfolio holder)" in html and "Cabinet, 11 November 2025" in html
        assert (
            "Collection is <strong>behind</strong> plan" in html and "&lt;b&gt;bedding in&lt;/b&gt;" in html
        )
        assert "Written by dee" in html and "approved by sam" in html
        assert "Extra recovery staff from January" in html and "Plan action CIP-CA1" in html
        assert (
            "Why is this Red, and is the recovery plan enough?" in html
            and "Accepted into the work plan" in html
        )
        assert "1 piece of feedback from members" in html
        # The plan takes the action in from the day it was promoted: the plan as at today holds it,
        # linked to its indicator (the quarter's own plan, as at its last day, cannot).
        catalogue = pd.read_sql_query(
            "select code, directorate from indicators", sqlite3.connect(snapshot_path(root))
        )
        actions, updates = load_plan(root / "improvement_plan", plan_actions(root, catalogue))
        plan = plan_status(actions, updates, dt.date.today())
        promoted = plan[plan["action_id"] == "CIP-CA1"].iloc[0]
        assert (promoted["indicator_codes"], promoted["owner"], promoted["status"]) == (
            code,
            "Karen Whitfield",
            "Not started",
        )
        audit = DataRoot(root).reports_for(Quarter.parse(quarter)) / "audit" / "governance"
        assert len(pd.read_csv(audit / "signoffs.csv")) == 5

        with sync_playwright() as p:
            chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            b = Browser(chromium, base, violations)
            try:
                b.as_("pat")
                page = b.open(review, check="review-changed")
                main = page.inner_text("main")
                assert warning in main
                assert "cllr.harker (portfolio holder)" in main  # the old sign-off stays on record
                # The chain is walked again from the first stage, on the corrected figures.
                b.submit("form", "Sign: the performance team checked", {"textarea": "Rechecked after LATE-1"})
                main = b.page.inner_text("main")
                assert "Earlier sign-offs (1)" in main
                assert main.count("Figures changed since signing") == 4
                b.open(f"/q/{quarter}/plan", check="plan")
            finally:
                b.context.close()
                chromium.close()
    assert not violations, violations
    assert len(GovernanceStore(root / "governance").records("signoff", quarter)) == 6
