"""deliveries.lane: what a moderator waits for goes out before a flood's mail (issue 16)

Revision ID: 0014
Revises: 0010
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lane", sa.SmallInteger(), server_default="1", nullable=False))
        batch_op.create_index("ix_deliveries_lane", ["status", "lane", "next_attempt_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_lane")
        batch_op.drop_column("lane")
