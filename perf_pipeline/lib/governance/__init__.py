"""Governance of the quarterly cycle: review sign-offs, authored narrative, corrective actions,
scrutiny items and members' feedback (SPEC §12).

The app writes these as append-only records under `<data>/governance/` (`store`); the pipeline
reads them as an input of the graph (`report`). Who may do what is one function (`roles.allowed`),
and every write goes through `workflow`, which checks the role, the rules of the stage or state,
and the request's idempotency key before anything is recorded.
"""
