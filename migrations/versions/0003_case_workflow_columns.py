"""Case columns the workflow keeps: nearest deadline, feedback given, reporter informed, waiting on reporter.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("next_due_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("feedback_given_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("reporter_informed_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("waiting_on_reporter", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_index("ix_cases_next_due_on", ["next_due_on"])


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_next_due_on")
        batch.drop_column("waiting_on_reporter")
        batch.drop_column("reporter_informed_on")
        batch.drop_column("feedback_given_on")
        batch.drop_column("next_due_on")
