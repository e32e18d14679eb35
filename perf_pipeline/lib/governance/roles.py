"""Who may do what with the governance records: one function, `allowed`, that every write calls.

The app's roles are `viewer`, `portfolio_holder`, `officer` and `performance_team`. Two things an
account may also be: a Cabinet member is a `portfolio_holder` (Cabinet is the portfolio holders),
and a scrutiny committee member is any account with a `committee` (`users add … --committee`),
which gives it the capacity `scrutiny_member`. Review stages name the capacities that sign them in
council.toml; everything else is the matrix below (the README's table, tested cell by cell).
"""

from __future__ import annotations

from perf_pipeline.lib.governance.store import Actor

SCRUTINY_MEMBER = "scrutiny_member"

# action → the capacities that may take it; a condition on the subject follows in `allowed`.
MATRIX: dict[str, set[str]] = {
    "write_narrative": {"portfolio_holder", "officer", "performance_team"},
    "approve_narrative": {"portfolio_holder", "performance_team"},
    "record_corrective_action": {"officer", "performance_team"},
    "promote_corrective_action": {"performance_team"},
    "propose_scrutiny": {SCRUTINY_MEMBER},
    "accept_scrutiny": {SCRUTINY_MEMBER, "performance_team"},
    "report_back_scrutiny": {"officer", "performance_team"},
    "close_scrutiny": {SCRUTINY_MEMBER, "performance_team"},
    "leave_feedback": {"viewer", "portfolio_holder", "officer", "performance_team", SCRUTINY_MEMBER},
}


def capacities(actor: Actor | None) -> set[str]:
    if actor is None:
        return set()
    return {actor.role} | ({SCRUTINY_MEMBER} if actor.committee else set())


def allowed(
    actor: Actor | None,
    action: str,
    *,
    signed_by: tuple[str, ...] = (),
    scope: str | None = None,
    subject: str | None = None,
    committee: str | None = None,
    author: str | None = None,
) -> bool:
    """Whether `actor` may take `action` on that subject.

    - `sign`: the stage's `signed_by` capacities (council.toml).
    - Narratives: officers write for priorities and directorates; a portfolio holder writes and
      approves only their own portfolio's; nobody approves a version they wrote themselves.
    - Scrutiny: members propose, accept and close items of their own committee only.
    """
    held = capacities(actor)
    if action == "sign":
        return bool(held & set(signed_by))
    if not held & MATRIX.get(action, set()):
        return False
    team = "performance_team" in held
    if action == "write_narrative" and not team:
        own_portfolio = scope == "portfolio" and actor.portfolio is not None and subject == actor.portfolio
        if "portfolio_holder" in held and own_portfolio:
            return True
        return "officer" in held and scope in ("priority", "directorate")
    if action == "approve_narrative":
        if author == actor.name:
            return False
        return team or (scope == "portfolio" and actor.portfolio is not None and subject == actor.portfolio)
    if action in ("propose_scrutiny", "accept_scrutiny", "close_scrutiny") and not (
        team and action != "propose_scrutiny"
    ):
        return actor.committee is not None and committee == actor.committee
    return True
