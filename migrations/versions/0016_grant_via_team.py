"""A personal case-key grant records the team it stands in for: ``case_key_grants.via_team_id`` (review finding).

A conflict-of-interest exclusion replaces a team's grant with personal grants
to the team's other members (``app.cases.service.restrict_to_members``), so
the excluded person's copy of the team key opens nothing. Those personal
grants were indistinguishable from an assignment to a named person, so a
member who later left the team kept every such case: the re-key that shuts
a leaver out of the team's grants never touched them. ``via_team_id`` names
the team a grant stands in for; removing a member from that team now revokes
their grants that carry it. A CHECK keeps it to personal grants.

Grants made before this revision carry no marker (nothing recorded which of
them an exclusion made, and guessing from team membership could revoke an
assignment made for its own sake): a member who leaves a team keeps those.
To clean them up, revoke them by hand on the case's grant page.

Downgrade refuses while a live grant carries the marker: dropping it would
silently let the next member who leaves that team keep the case.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("case_key_grants") as batch:
        batch.add_column(sa.Column("via_team_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_case_key_grants_via_team_id_teams"), "teams", ["via_team_id"], ["id"], ondelete="CASCADE"
        )
        batch.create_index(op.f("ix_case_key_grants_via_team_id"), ["via_team_id"])
        batch.create_check_constraint(
            op.f("ck_case_key_grants_via_team"), "via_team_id IS NULL OR grantee_kind = 'user'"
        )


def downgrade() -> None:
    live = (
        op.get_bind()
        .exec_driver_sql("SELECT COUNT(*) FROM case_key_grants WHERE via_team_id IS NOT NULL AND revoked_at IS NULL")
        .scalar_one()
    )
    if live:
        raise RuntimeError(
            f"{live} live grant(s) stand in for a team after an exclusion; without the marker a member leaving"
            " that team would keep them. Revoke them first"
        )
    with op.batch_alter_table("case_key_grants") as batch:
        batch.drop_constraint(op.f("ck_case_key_grants_via_team"), type_="check")
        batch.drop_index(op.f("ix_case_key_grants_via_team_id"))
        batch.drop_constraint(op.f("fk_case_key_grants_via_team_id_teams"), type_="foreignkey")
        batch.drop_column("via_team_id")
