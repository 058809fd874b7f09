"""Each signed feed request is accepted once: ``bridge_feed_signatures`` (review finding).

The feed refused requests whose timestamp was outside the replay window, but
within the window a captured request could be sent again, and sent after a
newer batch it rolled the newer records back. The signatures of accepted
requests are now kept until the window has passed, and a request whose
signature is kept is refused like a stale one.

The table only holds signatures of the last few minutes, which nothing else
needs: downgrade drops it.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bridge_feed_signatures",
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("signature", sa.LargeBinary(length=32), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["bridge_sources.id"],
            name=op.f("fk_bridge_feed_signatures_source_id_bridge_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("source_id", "signature", name=op.f("pk_bridge_feed_signatures")),
    )
    op.create_index(op.f("ix_bridge_feed_signatures_expires_at"), "bridge_feed_signatures", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_bridge_feed_signatures_expires_at"), table_name="bridge_feed_signatures")
    op.drop_table("bridge_feed_signatures")
