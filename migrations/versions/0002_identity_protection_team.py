"""Identity records name the protection team their key is sealed to.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("identity_records") as batch:
        batch.add_column(sa.Column("protection_team_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_identity_records_protection_team_id_teams",
            "teams",
            ["protection_team_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch.create_index("ix_identity_records_protection_team_id", ["protection_team_id"])


def downgrade() -> None:
    with op.batch_alter_table("identity_records") as batch:
        batch.drop_index("ix_identity_records_protection_team_id")
        batch.drop_constraint("fk_identity_records_protection_team_id_teams", type_="foreignkey")
        batch.drop_column("protection_team_id")
