"""approval_requests: four-eyes for a canvass (``canvass_id``) and an erasure (``subject``, a keyed hash)

A request is about a report, a canvass, or a person to erase; ``report_id`` becomes optional.

Revision ID: 0024
Revises: 0023
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


# SQLite recreates the table to make report_id nullable; reflecting it must not follow its foreign keys
# to reports and inbound_messages (whose expression index ix_inbound_fair SQLAlchemy warns it skips).
NO_FOLLOW = {"resolve_fks": False}


def upgrade() -> None:
    with op.batch_alter_table("approval_requests", reflect_kwargs=NO_FOLLOW) as batch:
        batch.alter_column("report_id", existing_type=Id, nullable=True)
        batch.add_column(sa.Column("canvass_id", Id, nullable=True))
        batch.add_column(sa.Column("subject", sa.String(64), nullable=True))
        batch.create_foreign_key(
            "fk_approval_requests_canvass_id_canvasses",
            "canvasses",
            ["canvass_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_index("ix_approval_requests_canvass", ["canvass_id", "status"])
        batch.create_index("ix_approval_requests_subject", ["subject", "status"])


def downgrade() -> None:
    op.execute("DELETE FROM approval_requests WHERE report_id IS NULL")
    with op.batch_alter_table("approval_requests", reflect_kwargs=NO_FOLLOW) as batch:
        batch.drop_index("ix_approval_requests_subject")
        batch.drop_index("ix_approval_requests_canvass")
        batch.drop_constraint("fk_approval_requests_canvass_id_canvasses", type_="foreignkey")
        batch.drop_column("subject")
        batch.drop_column("canvass_id")
        batch.alter_column("report_id", existing_type=Id, nullable=False)
