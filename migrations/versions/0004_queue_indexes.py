"""Indexes for the case queues: orders by deadline, severity and age; live grants by team and user.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = sa.text("revoked_at IS NULL")

# (name, table, columns, partial on live grants)
INDEXES: list[tuple[str, str, list[str], bool]] = [
    ("ix_cases_queue_due", "cases", ["next_due_on", "id"], False),
    ("ix_cases_queue_severity", "cases", ["severity", "id"], False),
    ("ix_cases_queue_age", "cases", ["received_on", "id"], False),
    ("ix_cases_queue_status_due", "cases", ["status", "next_due_on"], False),
    ("ix_cases_queue_waiting_due", "cases", ["waiting_on_reporter", "next_due_on"], False),
    ("ix_case_key_grants_live_team", "case_key_grants", ["team_id", "case_id"], True),
    ("ix_case_key_grants_live_user", "case_key_grants", ["user_id", "case_id"], True),
    ("ix_case_assignments_team_case", "case_assignments", ["team_id", "case_id"], False),
    ("ix_case_assignments_user_case", "case_assignments", ["user_id", "case_id"], False),
]


def upgrade() -> None:
    for name, table, columns, live in INDEXES:
        where = {"sqlite_where": LIVE, "postgresql_where": LIVE} if live else {}
        op.create_index(name, table, columns, **where)


def downgrade() -> None:
    for name, table, _columns, _live in reversed(INDEXES):
        op.drop_index(name, table_name=table)
