"""The app's governance pages in process: who may open and post what, CSRF, replays, escaping."""

from __future__ import annotations

import re

import pytest

from perf_pipeline.app.accounts import Accounts
from perf_pipeline.lib.app_snapshot import SNAPSHOT_FOLDER
from perf_pipeline.lib.governance.store import GovernanceStore
from perf_pipeline_tests.app_support import (
    APPROVED,
    DRAFT,
    PASSWORD,
    USERS,
    app_root,
    client,
    signed_in,
)

pytestmark = pytest.mark.e2e

GOVERNANCE_PAGES = ["review", "narrative", "actions", "scrutiny"]
COMMITTEE = "Economy and Resources Scrutiny Committee"


@pytest.fixture
def root(demo, tmp_path):
    root = app_root(demo, tmp_path / "data")
    Accounts(root / SNAPSHOT_FOLDER).add("member", "viewer", PASSWORD, None, COMMITTEE)
    return root


def store(root) -> GovernanceStore:
    return GovernanceStore(root / "governance")


def form_of(html: str, action: str) -> dict:
    """The hidden fields of the form posting to `action` (its CSRF token and request id)."""
    start = html.index(f'action="{action}"')
    form = html[start : html.index("</form>", start)]
    return dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form))


@pytest.mark.parametrize("name", [*USERS, "member"])
@pytest.mark.parametrize("quarter", [DRAFT, APPROVED])
def test_governance_pages_open_as_the_quarter_does(root, name, quarter):
    c = signed_in(root, name)
    for page in GOVERNANCE_PAGES:
        status = c.get(f"/q/{quarter}/{page}").status_code
        # A viewer (scrutiny members too) opens approved quarters only; a draft is not found.
        expected = 404 if quarter == DRAFT and name in ("viewer", "member") else 200
        assert status == expected, (page, status)


def test_signed_out_visitors_are_sent_to_sign_in_and_record_nothing(root):
    c = client(root)
    assert c.get(f"/q/{APPROVED}/scrutiny").headers["location"].startswith("/login")
    public = client(root, public=True)
    html = public.get(f"/q/{APPROVED}/scrutiny").text
    assert "Sign in</a> to leave feedback" in html
    response = public.post(
        f"/q/{APPROVED}/scrutiny/feedback",
        data={"text": "anonymous", "request_id": "x" * 16, "csrf_token": ""},
    )
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert store(root).records("feedback") == []


def test_a_form_needs_the_sessions_csrf_token(root):
    c = signed_in(root, "team")
    fields = form_of(c.get(f"/q/{DRAFT}/review").text, f"/q/{DRAFT}/review/sign")
    for token in ("", "forged-token"):
        response = c.post(f"/q/{DRAFT}/review/sign", data={**fields, "csrf_token": token})
        assert response.status_code == 400
        assert "The form has expired" in response.text
    other = signed_in(root, "officer")  # a token from another session is no better
    response = other.post(f"/q/{DRAFT}/review/sign", data=fields)
    assert response.status_code == 400
    assert store(root).records("signoff") == []


def test_a_form_sent_twice_records_once(root):
    c = signed_in(root, "team")
    fields = form_of(c.get(f"/q/{DRAFT}/review").text, f"/q/{DRAFT}/review/sign")
    first = c.post(f"/q/{DRAFT}/review/sign", data={**fields, "comment": "Checked"})
    again = c.post(f"/q/{DRAFT}/review/sign", data={**fields, "comment": "Checked"})
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"] == f"/q/{DRAFT}/review?recorded=SO1"
    [signoff] = store(root).records("signoff")
    assert (signoff.account, signoff.role, signoff.content["stage"]) == (
        "team",
        "performance_team",
        "performance_team_checked",
    )
    page = c.get(f"/q/{DRAFT}/review?recorded=SO1").text
    assert "Recorded as SO1." in page and "✔ Signed</strong>: team (performance team)" in page


def test_a_refusal_is_shown_on_the_page_with_the_text_kept(root):
    c = signed_in(root, "officer")
    fields = form_of(signed_in(root, "team").get(f"/q/{DRAFT}/review").text, f"/q/{DRAFT}/review/sign")
    mine = form_of(c.get(f"/q/{DRAFT}/scrutiny").text, f"/q/{DRAFT}/scrutiny/feedback")
    response = c.post(
        f"/q/{DRAFT}/review/sign",
        data={**fields, "csrf_token": mine["csrf_token"], "comment": "Not mine to sign"},
    )
    assert response.status_code == 403
    assert "Your role may not sign &#39;the performance team checked&#39;." in response.text
    response = c.post(f"/q/{DRAFT}/scrutiny/feedback", data={**mine, "text": "x" * 2001})
    assert response.status_code == 400
    assert "at most 2000 characters" in response.text and "x" * 2001 in response.text
    assert store(root).records("signoff") == [] and store(root).records("feedback") == []


def test_text_typed_by_users_is_shown_as_text(root):
    hostile = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    member = signed_in(root, "member")
    fields = form_of(member.get(f"/q/{APPROVED}/scrutiny").text, f"/q/{APPROVED}/scrutiny/propose")
    response = member.post(
        f"/q/{APPROVED}/scrutiny/propose",
        data={**fields, "subject_type": "indicator", "subject": hostile, "question": f"Why? {hostile}"},
    )
    assert response.status_code == 303
    team = signed_in(root, "team")
    fields = form_of(team.get(f"/q/{APPROVED}/narrative").text, f"/q/{APPROVED}/narrative/write")
    response = team.post(
        f"/q/{APPROVED}/narrative/write",
        data={**fields, "subject": "directorate|Place", "text": f"**Bold** {hostile}"},
    )
    assert response.status_code == 303, response.text
    for c, page in ((member, "scrutiny"), (team, "scrutiny"), (team, "narrative")):
        html = c.get(f"/q/{APPROVED}/{page}").text
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<strong>Bold</strong>" in team.get(f"/q/{APPROVED}/narrative").text
