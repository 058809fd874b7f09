"""Officials and contracts a case concerns (issue 7): ``case_subjects``, and the official index of bridge records.

``case_subjects`` holds what staff name on a case (a report's officials
concerned, its contract number) as a blind index plus the value encrypted
under the case key; alerts are linked ``alert_for`` to open reports through it
and officials without mandatory training are flagged. ``bridge_records``
gains ``official_index``: the blind index of the official an alert names, so
an alert case's officials can be matched against training records without
decrypting anything.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_subjects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("blind_index", sa.LargeBinary(length=32), nullable=False),
        sa.Column("value_ct", sa.LargeBinary(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('official', 'contract')", name=op.f("ck_case_subjects_kind")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_subjects_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["staff_users.id"],
            name=op.f("fk_case_subjects_created_by_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_subjects")),
        sa.UniqueConstraint("case_id", "kind", "blind_index", name=op.f("uq_case_subjects_case_id")),
    )
    op.create_index(op.f("ix_case_subjects_case_id"), "case_subjects", ["case_id"])
    op.create_index(op.f("ix_case_subjects_blind_index"), "case_subjects", ["blind_index"])
    op.add_column("bridge_records", sa.Column("official_index", sa.LargeBinary(length=32), nullable=True))


def downgrade() -> None:
    # Case subjects are staff input (encrypted under case keys): refuse rather than drop them. A record's
    # official_index is derived from its encrypted payload by the bridge, so dropping it loses nothing kept.
    kept = op.get_bind().exec_driver_sql("SELECT COUNT(*) FROM case_subjects").scalar_one()
    if kept:
        raise RuntimeError(f"{kept} case subject(s) exist; remove them from their cases first")
    with op.batch_alter_table("bridge_records") as batch:
        batch.drop_column("official_index")
    op.drop_index(op.f("ix_case_subjects_blind_index"), table_name="case_subjects")
    op.drop_index(op.f("ix_case_subjects_case_id"), table_name="case_subjects")
    op.drop_table("case_subjects")
