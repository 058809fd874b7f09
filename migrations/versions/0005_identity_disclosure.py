"""Identity disclosure: approvals (reporter told, or why not) and releases of the identity key.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "identity_approvals",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("reporter_informed", sa.Boolean(), nullable=False),
        sa.Column("jeopardy_reason_ct", sa.LargeBinary(), nullable=True),
        sa.Column("notice_entry_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(reporter_informed AND jeopardy_reason_ct IS NULL)"
            " OR (NOT reporter_informed AND jeopardy_reason_ct IS NOT NULL)",
            name=op.f("ck_identity_approvals_informed_or_jeopardy"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["identity_access_requests.id"],
            name=op.f("fk_identity_approvals_request_id_identity_access_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["notice_entry_id"],
            ["case_entries.id"],
            name=op.f("fk_identity_approvals_notice_entry_id_case_entries"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_identity_approvals")),
    )
    op.create_table(
        "identity_releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("released_by", sa.Integer(), nullable=False),
        sa.Column("sealed_key_ct", sa.LargeBinary(), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("released_by <> user_id", name=op.f("ck_identity_releases_not_self")),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["identity_access_requests.id"],
            name=op.f("fk_identity_releases_request_id_identity_access_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["staff_users.id"], name=op.f("fk_identity_releases_user_id_staff_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["released_by"],
            ["staff_users.id"],
            name=op.f("fk_identity_releases_released_by_staff_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_releases")),
        sa.UniqueConstraint("request_id", name=op.f("uq_identity_releases_request_id")),
    )
    op.create_index(op.f("ix_identity_releases_user_id"), "identity_releases", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_identity_releases_user_id"), table_name="identity_releases")
    op.drop_table("identity_releases")
    op.drop_table("identity_approvals")
