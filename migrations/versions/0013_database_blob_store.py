"""Blobs optionally in the database (issue 10): ``blob_objects`` and their ``blob_chunks``.

Used only when ``HAECHI_BLOB_STORE=database`` (several machines without a
shared folder); the tables exist on every deployment so that the migration
chain is the same everywhere. They hold crypto.stream ciphertext only.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "blob_objects",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("committed", sa.Boolean(), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_blob_objects")),
    )
    op.create_index(op.f("ix_blob_objects_started_on"), "blob_objects", ["started_on"])
    op.create_table(
        "blob_chunks",
        sa.Column("blob_key", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["blob_key"],
            ["blob_objects.key"],
            name=op.f("fk_blob_chunks_blob_key_blob_objects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("blob_key", "seq", name=op.f("pk_blob_chunks")),
    )


def downgrade() -> None:
    # With HAECHI_BLOB_STORE=database these rows are the only copy of every attachment: refuse to drop them.
    kept = op.get_bind().exec_driver_sql("SELECT COUNT(*) FROM blob_objects").scalar_one()
    if kept:
        raise RuntimeError(
            f"{kept} blob(s) are stored in the database, the only copy of those attachments; export them first"
        )
    op.drop_table("blob_chunks")
    op.drop_index(op.f("ix_blob_objects_started_on"), table_name="blob_objects")
    op.drop_table("blob_objects")
