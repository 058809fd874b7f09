"""A bridge record's data fingerprint becomes keyed: ``data_sha256`` → ``data_mac`` (review finding).

``data_sha256`` was a plain SHA-256 of the record's normalised data. For a
training record that data is the completion date, course, department, whether
it was mandatory and the official's name, most of it plain on the same row:
hashing each name of a staff directory recovered the official behind each
record, and through the shared blind index, which case names which official.
The fingerprint is now an HMAC under the instance bridge key
(:class:`monitoring_bridge.keyring.RecordMac`), which never enters the
database. The column is renamed so that no code or reader mistakes the new
values for a hash anyone can recompute.

The migration cannot compute MACs (it has no bridge key), and keeping the old
hashes until each record happens to be imported again would keep the leak, so
they are erased here. The importer treats a record without a MAC as a legacy
row: it decrypts the stored payload and, if it equals the incoming data, only
stores the MAC (a duplicate, not an audited update).

Downgrade renames the column back and erases the MACs (the code of 0014 would
not recognise them either): nothing kept is lost, and an older importer counts
each record's next replay as an update once.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE bridge_records SET data_sha256 = NULL")
    with op.batch_alter_table("bridge_records") as batch_op:
        batch_op.alter_column("data_sha256", new_column_name="data_mac", existing_type=sa.LargeBinary(length=32))


def downgrade() -> None:
    op.execute("UPDATE bridge_records SET data_mac = NULL")
    with op.batch_alter_table("bridge_records") as batch_op:
        batch_op.alter_column("data_mac", new_column_name="data_sha256", existing_type=sa.LargeBinary(length=32))
