"""Support: receipts of relief claims, the paid total the database keeps, an immutable ledger.

``support_requests.paid_total`` is the sum of the request's ledger entries,
kept by a trigger on ``disbursements`` in the inserting transaction, under
CHECKs (never below 0, never above the approved amount): a payment past the
approved amount fails in the database whatever path wrote it. Further
triggers refuse any UPDATE or DELETE of a disbursement (a correction is a
reversing entry) and a reversal that does not undo exactly one payment of
the same request.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IMMUTABLE = "disbursements are never changed or deleted; add a reversing entry"
BAD_REVERSAL = "a reversal must undo exactly one payment of the same request"
# The reversed entry: a payment (not itself a reversal) of the same request, of the opposite amount.
REVERSED_OK = (
    "EXISTS (SELECT 1 FROM disbursements o WHERE o.id = NEW.reverses_id AND o.reverses_id IS NULL"
    " AND o.support_request_id = NEW.support_request_id AND o.amount = -NEW.amount)"
)

SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER trg_disbursements_reversal BEFORE INSERT ON disbursements
    WHEN NEW.reverses_id IS NOT NULL AND NOT {REVERSED_OK}
    BEGIN SELECT RAISE(ABORT, '{BAD_REVERSAL}'); END""",
    """CREATE TRIGGER trg_disbursements_paid_total AFTER INSERT ON disbursements
    BEGIN
        UPDATE support_requests SET paid_total = paid_total + NEW.amount WHERE id = NEW.support_request_id;
    END""",
    f"""CREATE TRIGGER trg_disbursements_no_update BEFORE UPDATE ON disbursements
    BEGIN SELECT RAISE(ABORT, '{IMMUTABLE}'); END""",
    f"""CREATE TRIGGER trg_disbursements_no_delete BEFORE DELETE ON disbursements
    BEGIN SELECT RAISE(ABORT, '{IMMUTABLE}'); END""",
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS trg_disbursements_reversal",
    "DROP TRIGGER IF EXISTS trg_disbursements_paid_total",
    "DROP TRIGGER IF EXISTS trg_disbursements_no_update",
    "DROP TRIGGER IF EXISTS trg_disbursements_no_delete",
)

# SQLSTATE 23514 / 23000 so drivers raise IntegrityError, as for any other constraint.
POSTGRES_TRIGGERS = (
    f"""CREATE FUNCTION disbursements_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.reverses_id IS NOT NULL AND NOT {REVERSED_OK} THEN
            RAISE EXCEPTION '{BAD_REVERSAL}' USING ERRCODE = 'check_violation';
        END IF;
        UPDATE support_requests SET paid_total = paid_total + NEW.amount WHERE id = NEW.support_request_id;
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER trg_disbursements_on_insert AFTER INSERT ON disbursements
    FOR EACH ROW EXECUTE FUNCTION disbursements_on_insert()""",
    f"""CREATE FUNCTION disbursements_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{IMMUTABLE}' USING ERRCODE = 'integrity_constraint_violation';
    END $$""",
    """CREATE TRIGGER trg_disbursements_immutable BEFORE UPDATE OR DELETE ON disbursements
    FOR EACH ROW EXECUTE FUNCTION disbursements_immutable()""",
)
POSTGRES_DROP = (
    "DROP TRIGGER IF EXISTS trg_disbursements_immutable ON disbursements",
    "DROP TRIGGER IF EXISTS trg_disbursements_on_insert ON disbursements",
    "DROP FUNCTION IF EXISTS disbursements_immutable()",
    "DROP FUNCTION IF EXISTS disbursements_on_insert()",
)


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _defer_foreign_keys() -> None:
    # SQLite rebuilds support_requests in batch mode (copy, drop, rename); existing
    # disbursements would make the drop fail an immediate foreign-key check.
    # Deferred, the check runs at commit, when the rebuilt table is in place.
    if _sqlite():
        op.execute("PRAGMA defer_foreign_keys = ON")


def upgrade() -> None:
    _defer_foreign_keys()
    with op.batch_alter_table("support_requests") as batch:
        batch.add_column(sa.Column("requested_by", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("paid_total", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch.create_foreign_key(
            "fk_support_requests_requested_by_staff_users",
            "staff_users",
            ["requested_by"],
            ["id"],
            ondelete="RESTRICT",
        )
    op.execute(
        "UPDATE support_requests SET paid_total = COALESCE("
        "(SELECT SUM(d.amount) FROM disbursements d WHERE d.support_request_id = support_requests.id), 0)"
    )
    with op.batch_alter_table("support_requests") as batch:
        batch.create_check_constraint(
            op.f("ck_support_requests_paid_within_approved"),
            "paid_total = 0 OR (amount_approved IS NOT NULL AND paid_total <= amount_approved)",
        )
        batch.create_check_constraint(op.f("ck_support_requests_paid_total"), "paid_total >= 0")

    op.create_table(
        "support_receipts",
        sa.Column("support_request_id", sa.Integer(), nullable=False),
        sa.Column("attachment_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["attachment_id"],
            ["attachments.id"],
            name="fk_support_receipts_attachment_id_attachments",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["support_request_id"],
            ["support_requests.id"],
            name="fk_support_receipts_support_request_id_support_requests",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("support_request_id", "attachment_id", name="pk_support_receipts"),
    )
    op.create_index("ix_support_receipts_attachment_id", "support_receipts", ["attachment_id"])

    for statement in SQLITE_TRIGGERS if _sqlite() else POSTGRES_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    for statement in SQLITE_DROP if _sqlite() else POSTGRES_DROP:
        op.execute(statement)
    op.drop_index("ix_support_receipts_attachment_id", table_name="support_receipts")
    op.drop_table("support_receipts")
    _defer_foreign_keys()
    with op.batch_alter_table("support_requests") as batch:
        batch.drop_constraint(op.f("ck_support_requests_paid_total"), type_="check")
        batch.drop_constraint(op.f("ck_support_requests_paid_within_approved"), type_="check")
        batch.drop_constraint("fk_support_requests_requested_by_staff_users", type_="foreignkey")
        batch.drop_column("version")
        batch.drop_column("paid_total")
        batch.drop_column("confirmed_at")
        batch.drop_column("requested_by")
