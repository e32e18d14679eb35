"""The governance store and workflow: append-only records, stages in order, the role matrix."""

from __future__ import annotations

import html.parser
import json
import multiprocessing
import re
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perf_pipeline.lib.governance.report import export_records, governance_view, workbook_sheets
from perf_pipeline.lib.governance.roles import allowed
from perf_pipeline.lib.governance.stages import (
    approvals_table,
    figures_of,
    load_review_stages,
    load_stages_for,
    quarter_approved,
)
from perf_pipeline.lib.governance.store import Actor, Conflict, GovernanceStore, Refused, new_request_id
from perf_pipeline.lib.governance.text import render_narrative
from perf_pipeline.lib.governance.workflow import Governance, NotAllowed
from perf_pipeline.lib.quarters import Quarter
from perf_pipeline.lib.report_render import write_workbook
from perf_pipeline.lib.validation import ReferenceDataError
from perf_pipeline_tests.conftest import EXAMPLE_DATA, REPOSITORY

Q = "2025-26-Q2"
TEAM = Actor("pat.team", "performance_team")
DIRECTOR = Actor("dee.director", "officer")
HOLDER = Actor("cllr.harker", "portfolio_holder", portfolio="Economy")
CABINET = Actor("cllr.curry", "portfolio_holder", portfolio="Health")
MEMBER = Actor("cllr.scrutiny", "viewer", committee="Resources Scrutiny")
FIGURES = {"HS03": "12", "RB01": "56.2", "WM01": "44.5"}


@pytest.fixture
def root(tmp_path) -> Path:
    (tmp_path / "reference").mkdir()
    shutil.copy(EXAMPLE_DATA / "reference" / "council.toml", tmp_path / "reference")
    return tmp_path


@pytest.fixture
def gov(root) -> Governance:
    return Governance(root)


def sign(gov, actor, stage, figures=FIGURES, comment=""):
    return gov.sign(actor, Q, stage, figures, comment, new_request_id())


def walk(gov, figures=FIGURES, until="scrutiny_considered"):
    for actor, stage in [
        (TEAM, "performance_team_checked"),
        (DIRECTOR, "cmt_reviewed"),
        (HOLDER, "portfolio_holders_briefed"),
        (CABINET, "cabinet_approved"),
        (MEMBER, "scrutiny_considered"),
    ]:
        sign(gov, actor, stage, figures)
        if stage == until:
            return


# The store ------------------------------------------------------------------------------------


def test_records_are_lines_numbered_by_id_and_a_replayed_request_records_once(gov, root):
    request = new_request_id()
    first, created = gov.leave_feedback(MEMBER, Q, "Clear report", request)
    again, created_again = gov.leave_feedback(MEMBER, Q, "Clear report", request)
    assert (created, created_again) == (True, False)
    assert again == first
    second, _ = gov.leave_feedback(TEAM, Q, '=HYPERLINK("http://x")', new_request_id())
    lines = (root / "governance" / "feedback.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["FB1", "FB2"]
    assert (first.id, first.account, first.role, first.quarter) == ("FB1", MEMBER.name, "viewer", Q)
    assert second.content["text"].startswith("=")  # kept as typed; neutralised only on export


def test_a_request_id_reused_by_someone_else_is_refused(gov):
    request = new_request_id()
    gov.leave_feedback(MEMBER, Q, "one", request)
    with pytest.raises(Refused, match="already used"):
        gov.leave_feedback(TEAM, Q, "two", request)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("x" * 2001, "at most 2000 characters"),
        ("", "at least 1 character"),
        ("null byte \x00 hidden", "control characters"),
        ("right-to-left \u202e override", "control characters"),
    ],
)
def test_field_sizes_and_control_characters_are_bounded(gov, text, problem):
    with pytest.raises(Refused, match=problem):
        gov.leave_feedback(MEMBER, Q, text, new_request_id())
    assert gov.store.records("feedback") == []


def test_a_torn_line_is_reported_and_the_next_record_starts_on_its_own_line(gov, root):
    gov.leave_feedback(MEMBER, Q, "first", new_request_id())
    path = root / "governance" / "feedback.jsonl"
    with path.open("ab") as handle:  # a write cut off by a power cut
        handle.write(b'{"id": "FB2", "kind": "feedb')
    record, _ = gov.leave_feedback(MEMBER, Q, "after the cut", new_request_id())
    fresh = GovernanceStore(root / "governance")
    assert [r.content["text"] for r in fresh.records("feedback")] == ["first", "after the cut"]
    assert record.id == "FB3"
    assert fresh.problems() == [
        "governance/feedback.jsonl line 2: not a complete record (a write cut off, or an edit by hand)"
    ]


def test_a_removed_line_and_a_shrunk_file_are_reported(gov, root):
    for text in ("one", "two", "three"):
        gov.leave_feedback(MEMBER, Q, text, new_request_id())
    path = root / "governance" / "feedback.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + lines[2])
    assert any("file is shorter than before" in p for p in gov.store.problems())
    assert any("id FB3 does not match its line" in p for p in gov.store.problems())
    assert [r.content["text"] for r in gov.store.records("feedback")] == ["one", "three"]


def _append_many(folder: str, worker: int, count: int) -> None:
    store = GovernanceStore(Path(folder))
    for i in range(count):
        # Every request is sent twice, as a double click would.
        request = f"worker{worker}-request{i:04d}"
        for _ in range(2):
            store.append(
                "feedback",
                quarter=Q,
                actor=Actor(f"user{worker}", "viewer"),
                content={"text": f"{worker}/{i}"},
                request_id=request,
            )


def test_concurrent_writers_in_several_processes_lose_nothing_and_duplicate_nothing(tmp_path):
    workers, count = 4, 40
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_append_many, args=(str(tmp_path), w, count)) for w in range(workers)]
    for p in processes:
        p.start()
    for p in processes:
        p.join(60)
    assert [p.exitcode for p in processes] == [0] * workers
    store = GovernanceStore(tmp_path)
    texts = [r.content["text"] for r in store.records("feedback")]
    assert sorted(texts) == sorted(f"{w}/{i}" for w in range(workers) for i in range(count))
    assert [r.id for r in store.records("feedback")] == [f"FB{n}" for n in range(1, workers * count + 1)]
    assert store.problems() == []


def test_quarter_versions_change_only_for_the_quarter_written(gov):
    gov.leave_feedback(MEMBER, Q, "one", new_request_id())
    gov.leave_feedback(MEMBER, "2025-26-Q1", "earlier", new_request_id())
    before = gov.store.quarter_versions()
    gov.leave_feedback(MEMBER, Q, "two", new_request_id())
    after = GovernanceStore(gov.store.folder).quarter_versions()
    assert after["2025-26-Q1"] == before["2025-26-Q1"]
    assert after[Q] != before[Q]


# Review stages --------------------------------------------------------------------------------


def test_stages_are_signed_in_order_and_only_once_on_the_same_figures(gov):
    with pytest.raises(Refused, match="signed in order: 'the performance team checked' comes first"):
        sign(gov, DIRECTOR, "cmt_reviewed")
    sign(gov, TEAM, "performance_team_checked")
    with pytest.raises(Refused, match="already signed on these figures"):
        sign(gov, TEAM, "performance_team_checked")
    sign(gov, DIRECTOR, "cmt_reviewed")
    chain = gov.chain(Q, FIGURES)
    assert [s.state for s in chain] == ["Signed", "Signed", "Not signed", "Not signed", "Not signed"]
    assert [s.may_sign for s in chain] == [False, False, True, False, False]


def test_a_figure_changed_after_cabinet_approval_is_named_and_the_chain_signed_again(gov):
    walk(gov)
    corrected = {**FIGURES, "RB01": "57.0", "HS03": "11"}
    chain = gov.chain(Q, corrected)
    cabinet = chain[3]
    assert cabinet.warning == (
        f"2 figures changed since Cabinet approved on {cabinet.latest.at:%-d %B %Y}: HS03, RB01"
    )
    assert [s.may_sign for s in chain] == [True, False, False, False, False]
    walk(gov, corrected)
    chain = gov.chain(Q, corrected)
    assert all(s.current for s in chain)
    assert [len(s.signoffs) for s in chain] == [2, 2, 2, 2, 2]  # the earlier sign-offs are kept
    assert chain[3].signoffs[0].content["figures"]["RB01"] == "56.2"


def test_cabinet_sign_off_approves_the_quarter_beside_the_hand_kept_approvals(gov, root):
    shutil.copy(EXAMPLE_DATA / "reference" / "approvals.csv", root / "reference")
    q1, q2 = Quarter.parse("2025-26-Q1"), Quarter.parse(Q)
    assert quarter_approved(approvals_table(root, gov.stages), q1)["approved_by"] == "Cabinet"
    assert quarter_approved(approvals_table(root, gov.stages), q2) is None
    walk(gov, until="portfolio_holders_briefed")
    assert quarter_approved(approvals_table(root, gov.stages), q2) is None
    sign(gov, CABINET, "cabinet_approved", comment="Cabinet, 11 November 2025")
    approval = quarter_approved(approvals_table(root, gov.stages), q2)
    assert (approval["approved_by"], approval["meeting"], approval["recorded_by"]) == (
        "Cabinet",
        "Cabinet, 11 November 2025",
        "cllr.curry (portfolio_holder)",
    )


@pytest.mark.parametrize(
    ("stages", "problem"),
    [
        ([{"name": "a b", "signed_by": ["officer"]}], "'name' must be a word"),
        ([{"name": "x", "signed_by": ["mayor"]}], "'signed_by' must list some of"),
        ([{"name": "x", "signed_by": ["officer"]}] * 2, "named twice"),
        (
            [
                {"name": "x", "signed_by": ["officer"], "approves": True},
                {"name": "y", "signed_by": ["officer"], "approves": True},
            ],
            "only one review stage can approve",
        ),
    ],
)
def test_review_stage_configuration_mistakes_are_named(stages, problem):
    with pytest.raises(ReferenceDataError, match=problem):
        load_review_stages({"review_stage": stages})


def test_figures_of_a_quarter_are_each_indicators_value_with_blanks_for_not_reported():
    performance = pd.DataFrame({"indicator_code": ["B2", "A1", "C3"], "value": [0.1 + 0.2, None, 12.0]})
    assert figures_of(performance) == {"A1": "", "B2": "0.3", "C3": "12"}


# The role matrix: every cell of the README's table ---------------------------------------------

CAPACITY_ACTORS = {
    "viewer": Actor("vic.viewer", "viewer"),
    "portfolio_holder": HOLDER,
    "officer": DIRECTOR,
    "performance_team": TEAM,
    "scrutiny_member": MEMBER,
}


def readme_matrix() -> list[tuple[str, str, str]]:
    text = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    table = text[text.index("| action | viewer |") :].split("\n\n")[0].splitlines()
    columns = [c.strip() for c in table[0].strip("|").split("|")][1:]
    cells = []
    for line in table[2:]:
        parts = [c.strip() for c in line.strip("|").split("|")]
        action = re.search(r"`([a-z_:]+)`", parts[0]).group(1)
        cells += [(action, column, cell) for column, cell in zip(columns, parts[1:])]
    return cells


def _allowed_on(actor: Actor, action: str, own: bool, scope: str = "portfolio") -> bool:
    stages = {s.name: s for s in load_stages_for(EXAMPLE_DATA)}
    if action.startswith("sign:"):
        return allowed(actor, "sign", signed_by=stages[action.removeprefix("sign:")].signed_by)
    portfolio = actor.portfolio if own else "Somewhere else"
    committee = actor.committee if own else "Another Committee"
    return allowed(
        actor,
        action,
        scope=scope,
        subject=portfolio if scope == "portfolio" else "Place",
        committee=committee,
        author="someone.else",
    )


@pytest.mark.parametrize(("action", "capacity", "cell"), readme_matrix())
def test_role_matrix_cell(action, capacity, cell):
    actor = CAPACITY_ACTORS[capacity]
    if cell == "yes":
        assert _allowed_on(actor, action, own=True) and _allowed_on(actor, action, own=False)
    elif cell == "no":
        for scope in ("portfolio", "priority", "directorate"):
            assert not _allowed_on(actor, action, own=True, scope=scope)
    elif cell in ("own portfolio", "own committee"):
        assert _allowed_on(actor, action, own=True)
        assert not _allowed_on(actor, action, own=False)
    elif cell == "priorities and directorates":
        assert _allowed_on(actor, action, own=True, scope="priority")
        assert _allowed_on(actor, action, own=True, scope="directorate")
        assert not _allowed_on(actor, action, own=True, scope="portfolio")
    else:
        pytest.fail(f"unknown cell text {cell!r}")


def test_the_matrix_covers_every_action_and_stage():
    actions = {action for action, _, _ in readme_matrix()}
    stages = {f"sign:{s.name}" for s in load_stages_for(EXAMPLE_DATA)}
    from perf_pipeline.lib.governance.roles import MATRIX

    assert actions == set(MATRIX) | stages


def test_nobody_signs_without_an_account_or_approves_their_own_narrative(gov):
    assert not allowed(None, "leave_feedback")
    version, _ = gov.write_narrative(TEAM, Q, "directorate", "Place", "Draft", new_request_id())
    with pytest.raises(NotAllowed, match="nobody approves a version they wrote"):
        gov.approve_narrative(TEAM, Q, version.id, new_request_id())
    gov.approve_narrative(Actor("pam.team", "performance_team"), Q, version.id, new_request_id())


# Narrative, corrective actions, scrutiny -------------------------------------------------------


def test_narrative_versions_are_kept_and_the_latest_approved_one_is_published(gov):
    first, _ = gov.write_narrative(DIRECTOR, Q, "directorate", "Place", "First draft", new_request_id())
    with pytest.raises(Refused, match="already exists"):
        gov.write_narrative(TEAM, Q, "directorate", "Place", "A fork", new_request_id())
    gov.approve_narrative(TEAM, Q, first.id, new_request_id())
    second, _ = gov.write_narrative(
        DIRECTOR, Q, "directorate", "Place", "Second", new_request_id(), replaces=first.id
    )
    with pytest.raises(Conflict, match="changed by dee.director"):
        gov.write_narrative(
            TEAM, Q, "directorate", "Place", "Stale edit", new_request_id(), replaces=first.id
        )
    [(published, approval)] = gov.approved_narratives(Q)
    assert approval.account == TEAM.name
    assert (published.id, published.content["text"]) == (first.id, "First draft")  # second not approved yet
    gov.approve_narrative(TEAM, Q, second.id, new_request_id())
    [(published, _)] = gov.approved_narratives(Q)
    assert published.content["text"] == "Second"
    assert [r.content["text"] for r in gov.store.records("narrative")] == ["First draft", "Second"]


def test_a_portfolio_holder_writes_only_their_own_portfolio(gov):
    gov.write_narrative(HOLDER, Q, "portfolio", "Economy", "Ours", new_request_id())
    with pytest.raises(NotAllowed):
        gov.write_narrative(HOLDER, Q, "portfolio", "Health", "Theirs", new_request_id())


def test_a_corrective_action_is_promoted_once_to_the_improvement_plan(gov, root):
    with pytest.raises(Refused, match="not an exception"):
        gov.record_corrective_action(
            DIRECTOR, Q, "WM01", "Fix", "Ann", "ann@x.example", "2026-01-31", new_request_id(), {"RB01"}
        )
    action, _ = gov.record_corrective_action(
        DIRECTOR,
        Q,
        "RB01",
        "Extra recovery staff",
        "Ann Owner",
        "ann@x.example",
        "2026-01-31",
        new_request_id(),
    )
    with pytest.raises(NotAllowed):
        gov.promote(DIRECTOR, Q, action.id, new_request_id())
    promoted, _ = gov.promote(TEAM, Q, action.id, new_request_id())
    assert (promoted.replaces, promoted.content["plan_action_id"]) == (action.id, "CIP-CA1")
    with pytest.raises(Refused, match="already improvement plan action CIP-CA1"):
        gov.promote(TEAM, Q, promoted.id, new_request_id())
    from perf_pipeline.lib.governance.report import plan_actions

    catalogue = pd.DataFrame({"code": ["RB01"], "directorate": ["Resources"]})
    plan = plan_actions(root, catalogue)
    assert plan[["action_id", "indicator_codes", "directorate", "owner_email"]].values.tolist() == [
        ["CIP-CA1", "RB01", "Resources", "ann@x.example"]
    ]


def test_scrutiny_items_move_through_their_states_in_order(gov):
    item, _ = gov.propose_scrutiny(
        MEMBER, Q, "indicator", "RB01", "Why is collection down?", new_request_id()
    )
    assert item.content["committee"] == "Resources Scrutiny"
    with pytest.raises(Refused, match="Only a accepted item|Only a"):
        gov.move_scrutiny(TEAM, Q, item.id, "reported_back", new_request_id(), answer="x")
    with pytest.raises(NotAllowed):
        gov.move_scrutiny(
            Actor("other", "viewer", committee="People Scrutiny"), Q, item.id, "accepted", new_request_id()
        )
    accepted, _ = gov.move_scrutiny(MEMBER, Q, item.id, "accepted", new_request_id())
    with pytest.raises(Refused, match="needs the answer"):
        gov.move_scrutiny(DIRECTOR, Q, accepted.id, "reported_back", new_request_id())
    answered, _ = gov.move_scrutiny(
        DIRECTOR, Q, accepted.id, "reported_back", new_request_id(), answer="Staffing"
    )
    closed, _ = gov.move_scrutiny(MEMBER, Q, answered.id, "closed", new_request_id())
    [current] = gov.store.current("scrutiny", Q)
    assert (current.id, current.content["state"], current.content["answer"]) == (
        closed.id,
        "closed",
        "Staffing",
    )
    assert len(gov.store.records("scrutiny", Q)) == 4


def test_the_report_view_and_the_audit_export(gov, root):
    walk(gov, until="cabinet_approved")
    version, _ = gov.write_narrative(
        DIRECTOR, Q, "directorate", "Place", "**Good** <b>quarter</b>", new_request_id()
    )
    gov.approve_narrative(TEAM, Q, version.id, new_request_id())
    gov.record_corrective_action(
        DIRECTOR, Q, "RB01", "=cmd|' /C calc'!A0", "Ann", "ann@x.example", "2026-01-31", new_request_id()
    )
    performance = pd.DataFrame({"indicator_code": list(FIGURES), "value": [12.0, 57.0, 44.5]})
    view = governance_view(root, Quarter.parse(Q), performance)
    assert [s["state"] for s in view["chain"]][3] == "Figures changed since signing"
    assert view["chain"][3]["warning"].startswith("1 figure changed since Cabinet approved on")
    assert str(view["narratives"][0]["html"]) == "<p><strong>Good</strong> &lt;b&gt;quarter&lt;/b&gt;</p>\n"
    assert view["actions"]["RB01"][0]["owner"] == "Ann"
    written = export_records(root, root / "export")
    exported = pd.read_csv(root / "export" / "corrective-actions.csv", dtype=str)
    assert exported.loc[0, "action"] == "'=cmd|' /C calc'!A0"
    signoffs = pd.read_csv(root / "export" / "signoffs.csv", dtype=str)
    assert signoffs.loc[0, "figures"] == "HS03=12; RB01=56.2; WM01=44.5"
    assert len(written) == 6
    workbook = write_workbook(root / "report.xlsx", workbook_sheets(view), ())
    sheet = openpyxl.load_workbook(workbook)["Corrective actions"]
    assert (
        sheet["C2"].value == "'=cmd|' /C calc'!A0" and sheet["C2"].data_type == "s"
    )  # text, never a formula


# Narrative text ------------------------------------------------------------------------------

ALLOWED_TAGS = {"p", "br", "em", "strong", "ul", "ol", "li"}


class _Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, list]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("<>\"'&/=*_-#[]()!`:\n abcjavascriptonerrorimgsrc1."))
        | st.characters(),
        max_size=200,
    )
)
def test_narrative_markdown_never_lets_html_through(text):
    parser = _Tags()
    parser.feed(str(render_narrative(text)))
    for tag, attrs in parser.tags:
        assert tag in ALLOWED_TAGS
        assert all(name == "start" and value.isdigit() for name, value in attrs)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=300), name=st.text(min_size=1, max_size=120))
def test_whatever_is_typed_is_kept_exactly_or_refused_with_a_reason(tmp_path_factory, text, name):
    """Any text and account name: the record reads back from the file exactly as stored, or
    nothing is written and the refusal says why; the file stays whole either way."""
    folder = tmp_path_factory.mktemp("typed")
    store = GovernanceStore(folder)
    try:
        record, _ = store.append(
            "feedback",
            quarter=Q,
            actor=Actor(name, "viewer"),
            content={"text": text},
            request_id=new_request_id(),
        )
    except Refused as refusal:
        assert str(refusal)
        assert store.records("feedback") == []
        return
    [again] = GovernanceStore(folder).records("feedback")
    assert again == record
    assert again.content["text"] == text.strip().replace("\r\n", "\n").replace("\r", "\n")
    assert GovernanceStore(folder).problems() == []


def test_the_graph_observes_a_data_version_for_each_quarter_with_records(gov, root):
    import dagster as dg

    from perf_pipeline.defs.governance import governance_store
    from perf_pipeline.defs.resources import DataRootResource

    gov.leave_feedback(MEMBER, Q, "one", new_request_id())
    defs = dg.Definitions(
        assets=[governance_store], resources={"data_root": DataRootResource(path=str(root))}
    )
    instance = dg.DagsterInstance.ephemeral()

    def observed() -> dict:
        result = defs.resolve_implicit_global_asset_job_def().execute_in_process(instance=instance)
        return {
            e.partition: e.event_specific_data.asset_observation.tags["dagster/data_version"]
            for e in result.all_events
            if e.event_type_value == "ASSET_OBSERVATION"
        }

    first = observed()
    assert first == {Quarter.parse(Q).partition_key: gov.store.quarter_versions()[Q]}
    gov.leave_feedback(MEMBER, Q, "two", new_request_id())
    assert observed()[Quarter.parse(Q).partition_key] != first[Quarter.parse(Q).partition_key]
