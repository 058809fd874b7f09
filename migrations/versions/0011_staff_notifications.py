"""Staff e-mail notifications (issue 9): each person's choices and the outbox the cron sender empties.

No budget table is added: ``support_budgets`` (per support type and year, set
by legal officers and supervisors on the ledger page) exists since 0001 and is
what the dashboard compares payments against.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EVENTS = (
    "new_case",
    "deadline_due_soon",
    "deadline_overdue",
    "reporter_replied",
    "support_awaiting_approval",
    "retaliation_alert",
    "identity_request",
)


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "notification_preferences",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("delivery", sa.String(length=20), nullable=False),
        sa.CheckConstraint(_in("event", EVENTS), name=op.f("ck_notification_preferences_event")),
        sa.CheckConstraint(
            _in("delivery", ("off", "immediate", "digest")), name=op.f("ck_notification_preferences_delivery")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["staff_users.id"],
            name=op.f("fk_notification_preferences_user_id_staff_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "event", name=op.f("pk_notification_preferences")),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("delivery", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=True),
        sa.CheckConstraint(_in("event", EVENTS), name=op.f("ck_notifications_event")),
        sa.CheckConstraint(_in("delivery", ("immediate", "digest")), name=op.f("ck_notifications_delivery")),
        sa.CheckConstraint(
            _in("status", ("pending", "sent", "failed", "dropped")), name=op.f("ck_notifications_status")
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_notifications_attempts")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_notifications_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["staff_users.id"], name=op.f("fk_notifications_user_id_staff_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("user_id", "event", "case_id", "created_on", name=op.f("uq_notifications_user_id")),
    )
    op.create_index(op.f("ix_notifications_user_id"), "notifications", ["user_id"])
    op.create_index(op.f("ix_notifications_case_id"), "notifications", ["case_id"])
    op.create_index(op.f("ix_notifications_status"), "notifications", ["status"])


def downgrade() -> None:
    # Refuse rather than drop what staff chose and the outbox (pending mail, the sent log) without a word.
    kept = (
        op.get_bind()
        .exec_driver_sql(
            "SELECT (SELECT COUNT(*) FROM notifications) + (SELECT COUNT(*) FROM notification_preferences)"
        )
        .scalar_one()
    )
    if kept:
        raise RuntimeError(f"{kept} notification(s) or notification preference(s) exist; delete them first")
    op.drop_index(op.f("ix_notifications_status"), table_name="notifications")
    op.drop_index(op.f("ix_notifications_case_id"), table_name="notifications")
    op.drop_index(op.f("ix_notifications_user_id"), table_name="notifications")
    op.drop_table("notifications")
    op.drop_table("notification_preferences")
