"""The Cheongbaek-e linked system of an alert in plaintext, and its contract's blind index (issues 9, 7).

Why: the dashboard's "open alerts per linked system" needs it, and it was only
inside the encrypted payload. It is not sensitive (one of five fixed systems:
``e_hojo``, ``local_tax``, ``non_tax``, ``saeol``, ``personnel``). Records
imported before this revision are not backfilled (that would mean decrypting
every payload in a migration): their ``system`` stays NULL, shown as
"unknown" on the dashboard; a re-import of the same alert (an update) fills it.

``contract_index`` (keyed HMAC of the alert's contract number, as
``official_index`` is of its official) lets a contract staff name on a report
later be linked to the open alerts about it; indexes on both make that lookup
cheap. Also not backfilled: older alerts match late by official only.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bridge_records") as batch_op:
        batch_op.add_column(sa.Column("system", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("contract_index", sa.LargeBinary(length=32), nullable=True))
        batch_op.create_index(batch_op.f("ix_bridge_records_official_index"), ["official_index"])
        batch_op.create_index(batch_op.f("ix_bridge_records_contract_index"), ["contract_index"])


def downgrade() -> None:
    with op.batch_alter_table("bridge_records") as batch_op:
        batch_op.drop_index(batch_op.f("ix_bridge_records_contract_index"))
        batch_op.drop_index(batch_op.f("ix_bridge_records_official_index"))
        batch_op.drop_column("contract_index")
        batch_op.drop_column("system")
