"""Retention records: reminders sent before a purge, and what each purge destroyed.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS = (
    "grants",
    "entries",
    "attachments",
    "blobs",
    "identity_records",
    "identity_requests",
    "identity_releases",
    "links",
    "labels",
    "assignments",
    "exclusions",
    "protection_records",
    "support_texts",
    "bridge_payloads",
)


def upgrade() -> None:
    op.create_table(
        "retention_records",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("reminded_on", sa.Date(), nullable=True),
        sa.Column("reminded_for", sa.Date(), nullable=True),
        sa.Column("purged_on", sa.Date(), nullable=True),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name="fk_retention_records_case_id_cases", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("case_id", name="pk_retention_records"),
    )
    op.create_index("ix_retention_records_purged_on", "retention_records", ["purged_on"])


def downgrade() -> None:
    op.drop_index("ix_retention_records_purged_on", table_name="retention_records")
    op.drop_table("retention_records")
