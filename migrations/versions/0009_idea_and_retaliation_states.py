"""Case states of the idea-contest workflow and of retaliation cases.

An idea goes received -> under_review -> adopted / not_adopted; a retaliation
case goes received -> assessing -> measure_requested -> measure_decided ->
compliance_monitoring -> closed. Only the CHECK on ``cases.status`` changes;
downgrading refuses while any case is in one of the new states, rather than
rewrite a case's history.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = (
    "received",
    "acknowledged",
    "triage",
    "investigating",
    "legal_review",
    "resolved",
    "closed",
    "raised",
    "explanation_requested",
    "explained",
    "action_taken",
    "accepted",
    "escalated",
)
NEW = (
    "under_review",
    "adopted",
    "not_adopted",
    "assessing",
    "measure_requested",
    "measure_decided",
    "compliance_monitoring",
)


def _in(values: Sequence[str]) -> str:
    return "status IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _replace_status_check(values: Sequence[str]) -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_constraint(op.f("ck_cases_status"), type_="check")
        batch.create_check_constraint(op.f("ck_cases_status"), _in(values))


def upgrade() -> None:
    _replace_status_check(OLD + NEW)


def downgrade() -> None:
    bind = op.get_bind()
    in_use = bind.exec_driver_sql("SELECT COUNT(*) FROM cases WHERE " + _in(NEW)).scalar_one()
    if in_use:
        raise RuntimeError(f"{in_use} case(s) are in states this revision adds; close or move them first")
    _replace_status_check(OLD)
