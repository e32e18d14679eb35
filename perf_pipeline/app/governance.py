"""The app's governance pages (SPEC §12): sign a review stage, write and approve the narrative,
record a corrective action and promote it to the improvement plan, propose and move scrutiny
items, leave feedback.

Pages are read from the snapshot (the figures) and the governance store (the records), for the
actor, through `pages.quarter_key` (a quarter the actor may not open is not found). Every form
carries the session's CSRF token and a request id of its own: a form sent twice records once.
A write goes through `Governance` (the role, then the rules, under the store's lock); what it
refuses is shown on the page with the text typed kept in the form.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from urllib.parse import urlencode

import pandas as pd
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from perf_pipeline.app import pages
from perf_pipeline.app.permissions import OFFICER, PERFORMANCE_TEAM, PORTFOLIO_HOLDER, PUBLIC, Actor
from perf_pipeline.lib import report
from perf_pipeline.lib.governance.records import NARRATIVE_SCOPES, SCRUTINY_STATE_LABELS
from perf_pipeline.lib.governance.roles import allowed
from perf_pipeline.lib.governance.stages import figures_of
from perf_pipeline.lib.governance.store import Conflict, Refused, new_request_id
from perf_pipeline.lib.governance.text import render_narrative
from perf_pipeline.lib.governance.workflow import SCRUTINY_MOVES, Governance, NotAllowed
from perf_pipeline.lib.quarters import Quarter

# A narrative of 10,000 characters is up to 40 KB in UTF-8; other fields are far smaller.
MAX_FORM_PART = 64 * 1024
PAGES = {
    "review": ("app/governance/review.html.j2", "Review and sign-off"),
    "narrative": ("app/governance/narrative.html.j2", "Narrative"),
    "actions": ("app/governance/actions.html.j2", "Corrective actions"),
    "scrutiny": ("app/governance/scrutiny.html.j2", "Scrutiny and feedback"),
}


def _when(record) -> str:
    return f"{record.at:%-d %B %Y %H:%M} UTC"


class GovernancePages:
    """The routes of the governance pages, built on the app's own sign-in, forms and rendering."""

    def __init__(self, data_root: Path, reader, approvals, actor_of: Callable, render: Callable, read_form):
        self.gov = Governance(data_root)
        self.reader, self.approvals = reader, approvals
        self.actor_of, self.render, self.read_form = actor_of, render, read_form

    def routes(self) -> list[Route]:
        posts = {
            "review/sign": ("review", self.sign),
            "narrative/write": ("narrative", self.write_narrative),
            "narrative/approve": ("narrative", self.approve_narrative),
            "actions/record": ("actions", self.record_action),
            "actions/promote": ("actions", self.promote),
            "scrutiny/propose": ("scrutiny", self.propose),
            "scrutiny/move": ("scrutiny", self.move),
            "scrutiny/feedback": ("scrutiny", self.feedback),
        }
        return [
            *(Route(f"/q/{{quarter}}/{name}", self._get(name)) for name in PAGES),
            *(
                Route(f"/q/{{quarter}}/{path}", self._post(page, action), methods=["POST"])
                for path, (page, action) in posts.items()
            ),
        ]

    # Requests -------------------------------------------------------------------------------

    def _ctx(self, con, actor) -> pages.Ctx:
        return pages.Ctx(con, self.reader.published(con), actor, self.approvals)

    def _show(
        self, request, name: str, actor, status: int = 200, error: str = "", values: dict | None = None
    ):
        with closing(self.reader.connect()) as con:
            ctx = self._ctx(con, actor)
            quarter = pages.quarter_key(ctx, request.path_params["quarter"])
            template, title = PAGES[name]
            view = getattr(self, f"_{name}_view")(ctx, quarter, actor)
            page = pages.Page(
                template=template,
                title=f"{title}, {Quarter.parse(quarter).label}",
                view={},
                quarter=quarter,
                draft=not ctx.approved(quarter),
            )
            return self.render(
                request,
                template,
                status=status,
                actor=actor,
                page=page,
                quarters=ctx.quarters(),
                council=ctx.published.meta["council"],
                published_at=ctx.published.meta["published_at"],
                error=error,
                values=values or {},
                recorded=request.query_params.get("recorded", "")[:20],
                new_request_id=new_request_id,
                **view,
            )

    def _get(self, name: str):
        def endpoint(request: Request) -> Response:
            actor = self.actor_of(request)
            if actor is None:
                return RedirectResponse(f"/login?{urlencode({'next': request.url.path})}", status_code=303)
            return self._show(request, name, actor)

        return endpoint

    def _post(self, name: str, action: Callable):
        async def endpoint(request: Request) -> Response:
            actor = self.actor_of(request)
            if actor is None or actor is PUBLIC:
                # Only an account records anything: sign in first.
                return RedirectResponse(f"/login?{urlencode({'next': request.url.path})}", status_code=303)
            form = {
                k: str(v) for k, v in (await self.read_form(request, max_part_size=MAX_FORM_PART)).items()
            }
            return await run_in_threadpool(self._record, request, name, action, actor, form)

        return endpoint

    def _record(self, request, name: str, action: Callable, actor: Actor, form: dict) -> Response:
        with closing(self.reader.connect()) as con:
            ctx = self._ctx(con, actor)
            quarter = pages.quarter_key(ctx, request.path_params["quarter"])
            try:
                record, _ = action(ctx, quarter, actor, form)
            except NotAllowed as refusal:
                return self._show(request, name, actor, 403, str(refusal), form)
            except Conflict as refusal:
                return self._show(request, name, actor, 409, str(refusal), form)
            except Refused as refusal:
                return self._show(request, name, actor, 400, str(refusal), form)
        # Post, then redirect: reloading the page that follows sends nothing again.
        return RedirectResponse(f"/q/{quarter}/{name}?recorded={record.id}", status_code=303)

    # Review ---------------------------------------------------------------------------------

    def _figures(self, ctx, quarter: str) -> dict[str, str]:
        return figures_of(
            ctx.frame("select indicator_code, value from performance where quarter = ?", [quarter])
        )

    def _review_view(self, ctx, quarter, actor) -> dict:
        chain = self.gov.chain(quarter, self._figures(ctx, quarter))
        visible = self._visible_codes(ctx, quarter)
        stages = []
        for s in chain:
            shown = [c for c in s.changed if c in visible]
            stages.append(
                {
                    "name": s.stage.name,
                    "title": s.stage.title,
                    "state": s.state,
                    "latest": s.latest,
                    "when": _when(s.latest) if s.latest else "",
                    "changed": shown,
                    "warning": s.warning if shown == s.changed else "",
                    "earlier": [(r, _when(r)) for r in s.signoffs[:-1]],
                    "may_sign": s.may_sign and allowed(actor, "sign", signed_by=s.stage.signed_by),
                    "signed_by": ", ".join(c.replace("_", " ") for c in s.stage.signed_by),
                }
            )
        return {"stages": stages}

    def sign(self, ctx, quarter, actor, form):
        return self.gov.sign(
            actor,
            quarter,
            form.get("stage", ""),
            self._figures(ctx, quarter),
            form.get("comment", ""),
            form.get("request_id", ""),
        )

    def _visible_codes(self, ctx, quarter) -> set[str]:
        return {
            code
            for code, info in ctx.published.indicators.items()
            if ctx.sees(quarter, info.get("portfolio") or "")
        }

    # Narrative ------------------------------------------------------------------------------

    def _subjects(self, ctx) -> dict[str, list[str]]:
        infos = ctx.published.indicators.values()
        return {scope: sorted({str(i.get(scope) or "") for i in infos} - {""}) for scope in NARRATIVE_SCOPES}

    def _may_read_drafts(self, actor, scope: str, subject: str) -> bool:
        return actor.role in (OFFICER, PERFORMANCE_TEAM) or (
            actor.role == PORTFOLIO_HOLDER and scope == "portfolio" and subject == actor.portfolio
        )

    def _narrative_view(self, ctx, quarter, actor) -> dict:
        approved = {
            (v.content["scope"], v.content["subject"]): (v, a)
            for v, a in self.gov.approved_narratives(quarter)
        }
        versions = self.gov.store.records("narrative", quarter)
        blocks = []
        for head in self.gov.store.current("narrative", quarter):
            scope, subject = head.content["scope"], head.content["subject"]
            drafts = self._may_read_drafts(actor, scope, subject)
            published = approved.get((scope, subject))
            if not drafts and published is None:
                continue
            blocks.append(
                {
                    "scope": scope,
                    "subject": subject,
                    "latest": head if drafts else None,
                    "latest_html": render_narrative(head.content["text"]) if drafts else "",
                    "latest_when": _when(head),
                    "published": published[0] if published else None,
                    "published_html": render_narrative(published[0].content["text"]) if published else "",
                    "approval": published[1] if published else None,
                    "approval_when": _when(published[1]) if published else "",
                    "latest_approved": published is not None and published[0].id == head.id,
                    "may_approve": drafts
                    and allowed(
                        actor, "approve_narrative", scope=scope, subject=subject, author=head.account
                    ),
                    "may_write": allowed(actor, "write_narrative", scope=scope, subject=subject),
                    "history": [
                        (v, _when(v))
                        for v in versions
                        if drafts and (v.content["scope"], v.content["subject"]) == (scope, subject)
                    ],
                }
            )
        written = {(b["scope"], b["subject"]) for b in blocks}
        choices = [
            (f"{scope}|{subject}", f"{scope.capitalize()}: {subject}")
            for scope, subjects in self._subjects(ctx).items()
            for subject in subjects
            if (scope, subject) not in written
            and allowed(actor, "write_narrative", scope=scope, subject=subject)
        ]
        return {"blocks": sorted(blocks, key=lambda b: (b["scope"], b["subject"])), "choices": choices}

    def write_narrative(self, ctx, quarter, actor, form):
        scope, _, subject = form.get("subject", "").partition("|")
        return self.gov.write_narrative(
            actor,
            quarter,
            scope,
            subject,
            form.get("text", ""),
            form.get("request_id", ""),
            replaces=form.get("replaces") or None,
        )

    def approve_narrative(self, ctx, quarter, actor, form):
        return self.gov.approve_narrative(
            actor, quarter, form.get("narrative_id", ""), form.get("request_id", "")
        )

    # Corrective actions ----------------------------------------------------------------------

    def _exceptions(self, ctx, quarter) -> pd.DataFrame:
        current = pages.visible_rows(ctx, quarter)
        current = current[current["rag_status"] != "Not due"]
        before = Quarter.parse(quarter).shift(-1).key
        previous = (
            pages.visible_rows(ctx, before)
            if before in ctx.published.quarters and ctx.opens(before)
            else current.iloc[0:0]
        )
        return report.exceptions(current, previous)

    def _actions_view(self, ctx, quarter, actor) -> dict:
        exceptions = self._exceptions(ctx, quarter)
        actions: dict[str, list] = {}
        for r in self.gov.store.current("corrective_action", quarter):
            actions.setdefault(r.content["indicator_code"], []).append((r, _when(r)))
        return {
            "exceptions": exceptions.to_dict("records"),
            "actions": actions,
            "may_record": allowed(actor, "record_corrective_action"),
            "may_promote": allowed(actor, "promote_corrective_action"),
        }

    def record_action(self, ctx, quarter, actor, form):
        return self.gov.record_corrective_action(
            actor,
            quarter,
            form.get("indicator_code", ""),
            form.get("action", ""),
            form.get("owner", ""),
            form.get("owner_email", ""),
            form.get("due_date", ""),
            form.get("request_id", ""),
            exceptions=set(self._exceptions(ctx, quarter)["indicator_code"]),
        )

    def promote(self, ctx, quarter, actor, form):
        return self.gov.promote(actor, quarter, form.get("action_id", ""), form.get("request_id", ""))

    # Scrutiny and feedback -------------------------------------------------------------------

    def _scrutiny_view(self, ctx, quarter, actor) -> dict:
        items = []
        for r in self.gov.store.current("scrutiny", quarter):
            moves = [
                (state, SCRUTINY_STATE_LABELS[state])
                for state, (before, action) in SCRUTINY_MOVES.items()
                if r.content["state"] == before and allowed(actor, action, committee=r.content["committee"])
            ]
            items.append(
                {
                    "record": r,
                    "when": _when(r),
                    "label": SCRUTINY_STATE_LABELS[r.content["state"]],
                    "moves": moves,
                }
            )
        feedback = [
            (r, _when(r))
            for r in self.gov.store.records("feedback", quarter)
            if actor.role == PERFORMANCE_TEAM or r.account == actor.name
        ]
        return {
            "items": sorted(items, key=lambda i: (i["record"].content["committee"], i["record"].id)),
            "may_propose": allowed(actor, "propose_scrutiny", committee=actor.committee),
            "may_feedback": actor is not PUBLIC and allowed(actor, "leave_feedback"),
            "feedback": feedback,
            "subject_types": ["indicator", "directorate", "action"],
        }

    def propose(self, ctx, quarter, actor, form):
        return self.gov.propose_scrutiny(
            actor,
            quarter,
            form.get("subject_type", ""),
            form.get("subject", ""),
            form.get("question", ""),
            form.get("request_id", ""),
        )

    def move(self, ctx, quarter, actor, form):
        return self.gov.move_scrutiny(
            actor,
            quarter,
            form.get("item_id", ""),
            form.get("state", ""),
            form.get("request_id", ""),
            answer=form.get("answer", ""),
        )

    def feedback(self, ctx, quarter, actor, form):
        return self.gov.leave_feedback(actor, quarter, form.get("text", ""), form.get("request_id", ""))
