"""rate limits and abuse defences (issue 8)

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # acknowledgements per address per hour are counted from the deliveries (ackrate.py)
    op.create_index("ix_deliveries_recipient", "deliveries", ["recipient", "kind", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_recipient", table_name="deliveries")
