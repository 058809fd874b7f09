"""Retaliation monitoring (issue 8): one protected person per case, check-in edges, retaliation records.

``protected_persons.case_id`` becomes unique (a report has one reporter, so
one protection record). ``check_ins`` gets ``flagged_on`` (the day a missed
check-in was flagged to the protection team) and one row per case and day,
so scheduling twice adds nothing, and the columns of the answer's own key
sealed to the protection team and recovery (check-in answers are for the
custodians, not for holders of the case key). ``retaliation_records`` keeps what the law
asks of a retaliation case (the measure's dates and the one-year limit to
apply, when a protective measure was requested and decided) and
``compliance_checks`` the checks of a measure every six months for two years.
Downgrading refuses while any retaliation record, compliance check or sealed
check-in answer exists, rather than throw away what the law asks to keep (or
strand answers whose key it would drop).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("protected_persons") as batch:
        batch.drop_index("ix_protected_persons_case_id")
        batch.create_index("ix_protected_persons_case_id", ["case_id"], unique=True)
    with op.batch_alter_table("check_ins") as batch:
        batch.add_column(sa.Column("flagged_on", sa.Date(), nullable=True))
        batch.create_unique_constraint("uq_check_ins_case_id", ["case_id", "due_on"])
        batch.add_column(sa.Column("protection_team_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("key_version", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("sealed_to_protection_key_ct", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("recovery_sealed_key_ct", sa.LargeBinary(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_check_ins_protection_team_id_teams"), "teams", ["protection_team_id"], ["id"], ondelete="RESTRICT"
        )
        batch.create_index(op.f("ix_check_ins_protection_team_id"), ["protection_team_id"], unique=False)
    op.create_table(
        "retaliation_records",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("measure_type", sa.String(length=40), nullable=True),
        sa.Column("measure_on", sa.Date(), nullable=True),
        sa.Column("apply_by", sa.Date(), nullable=True),
        sa.Column("measure_requested_on", sa.Date(), nullable=True),
        sa.Column("measure_decided_on", sa.Date(), nullable=True),
        sa.CheckConstraint("origin IN ('reporter', 'alert')", name=op.f("ck_retaliation_records_origin")),
        sa.CheckConstraint("apply_by IS NULL OR measure_on IS NOT NULL", name=op.f("ck_retaliation_records_apply_by")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_retaliation_records_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["retaliation_alerts.id"],
            name=op.f("fk_retaliation_records_alert_id_retaliation_alerts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_retaliation_records")),
        sa.UniqueConstraint("alert_id", name=op.f("uq_retaliation_records_alert_id")),
    )
    op.create_table(
        "compliance_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("checked_on", sa.Date(), nullable=True),
        sa.Column("result", sa.String(length=20), nullable=True),
        sa.Column("notes_ct", sa.LargeBinary(), nullable=True),
        sa.Column("checked_by", sa.Integer(), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "result IN ('complied', 'partly_complied', 'not_complied')", name=op.f("ck_compliance_checks_result")
        ),
        sa.CheckConstraint(
            "(checked_on IS NULL AND result IS NULL) OR (checked_on IS NOT NULL AND result IS NOT NULL)",
            name=op.f("ck_compliance_checks_recorded"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_compliance_checks_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["checked_by"],
            ["staff_users.id"],
            name=op.f("fk_compliance_checks_checked_by_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compliance_checks")),
        sa.UniqueConstraint("case_id", "due_on", name=op.f("uq_compliance_checks_case_id")),
    )
    op.create_index(op.f("ix_compliance_checks_case_id"), "compliance_checks", ["case_id"], unique=False)
    op.create_index(op.f("ix_compliance_checks_due_on"), "compliance_checks", ["due_on"], unique=False)


def downgrade() -> None:
    bind = op.get_bind()
    kept = bind.exec_driver_sql(
        "SELECT (SELECT COUNT(*) FROM retaliation_records) + (SELECT COUNT(*) FROM compliance_checks)"
        " + (SELECT COUNT(*) FROM check_ins WHERE sealed_to_protection_key_ct IS NOT NULL)"
    ).scalar_one()
    if kept:
        raise RuntimeError(
            f"{kept} retaliation record(s), compliance check(s) or sealed check-in answer(s) exist; export them first"
        )
    op.drop_index(op.f("ix_compliance_checks_due_on"), table_name="compliance_checks")
    op.drop_index(op.f("ix_compliance_checks_case_id"), table_name="compliance_checks")
    op.drop_table("compliance_checks")
    op.drop_table("retaliation_records")
    with op.batch_alter_table("check_ins") as batch:
        batch.drop_index(op.f("ix_check_ins_protection_team_id"))
        batch.drop_constraint(op.f("fk_check_ins_protection_team_id_teams"), type_="foreignkey")
        batch.drop_column("recovery_sealed_key_ct")
        batch.drop_column("sealed_to_protection_key_ct")
        batch.drop_column("key_version")
        batch.drop_column("protection_team_id")
        batch.drop_constraint("uq_check_ins_case_id", type_="unique")
        batch.drop_column("flagged_on")
    with op.batch_alter_table("protected_persons") as batch:
        batch.drop_index("ix_protected_persons_case_id")
        batch.create_index("ix_protected_persons_case_id", ["case_id"], unique=False)
