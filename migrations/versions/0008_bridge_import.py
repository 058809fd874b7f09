"""Bridge imports: a digest per record for idempotent updates, the alert's instant, quarantine dedup.

``bridge_records.data_sha256`` is SHA-256 of the record's normalised data, so a
replayed record is recognised as unchanged without decrypting its payload;
``occurred_at`` is the instant correlation windows are measured on (hours, so
``occurred_on`` is not enough); ``quarantined_records.raw_mac`` is an HMAC of
the raw bytes under the bridge key, so a file imported twice does not
quarantine the same bad line twice (keyed: a plain hash would let a database
reader confirm a guessed record). ``bridge_case_keys`` holds the key of a case
the bridge made, wrapped under the instance bridge key, while it may still add
correlated alerts to it.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bridge_case_keys",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("key_ct", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name="fk_bridge_case_keys_case_id_cases", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("case_id", name="pk_bridge_case_keys"),
    )
    with op.batch_alter_table("bridge_records") as batch:
        batch.add_column(sa.Column("data_sha256", sa.LargeBinary(32), nullable=True))
        batch.add_column(sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("quarantined_records") as batch:
        batch.add_column(sa.Column("raw_mac", sa.LargeBinary(32), nullable=True))
        batch.create_index("ix_quarantined_records_raw_mac", ["raw_mac"])


def downgrade() -> None:
    with op.batch_alter_table("quarantined_records") as batch:
        batch.drop_index("ix_quarantined_records_raw_mac")
        batch.drop_column("raw_mac")
    with op.batch_alter_table("bridge_records") as batch:
        batch.drop_column("occurred_at")
        batch.drop_column("data_sha256")
    op.drop_table("bridge_case_keys")
