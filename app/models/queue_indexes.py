"""Indexes the case queues need (app/cases/queues.py), declared beside the models they index.

Queues read 50 rows out of 100,000: each order must walk an index, and each
visibility or team test must be one index probe. Grant indexes are partial
(live grants only), as every query that uses them asks ``revoked_at IS NULL``.
Migration 0004 creates the same indexes.
"""

from __future__ import annotations

from sqlalchemy import Index

from app.models.cases import Case, CaseAssignment, CaseKeyGrant

_LIVE = CaseKeyGrant.revoked_at.is_(None)

QUEUE_INDEXES = (
    # Orders: nearest deadline (also the overdue / due-soon ranges), severity, age.
    Index("ix_cases_queue_due", Case.next_due_on, Case.id),
    Index("ix_cases_queue_severity", Case.severity, Case.id),
    Index("ix_cases_queue_age", Case.received_on, Case.id),
    # Views that fix a column and read by deadline: new / by state, waiting on reporter.
    Index("ix_cases_queue_status_due", Case.status, Case.next_due_on),
    Index("ix_cases_queue_waiting_due", Case.waiting_on_reporter, Case.next_due_on),
    # Visibility and the team filter: is there a live grant to this team / user for this case?
    Index(
        "ix_case_key_grants_live_team",
        CaseKeyGrant.team_id,
        CaseKeyGrant.case_id,
        sqlite_where=_LIVE,
        postgresql_where=_LIVE,
    ),
    Index(
        "ix_case_key_grants_live_user",
        CaseKeyGrant.user_id,
        CaseKeyGrant.case_id,
        sqlite_where=_LIVE,
        postgresql_where=_LIVE,
    ),
    # The team filter's and "mine"'s assignment side.
    Index("ix_case_assignments_team_case", CaseAssignment.team_id, CaseAssignment.case_id),
    Index("ix_case_assignments_user_case", CaseAssignment.user_id, CaseAssignment.case_id),
)
