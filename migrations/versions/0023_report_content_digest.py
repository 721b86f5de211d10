"""reports.content_digest: the fingerprint of what the reporter wrote (issue 15: "the same message again")

A report received before this revision has none and is never taken for the first of a repeat.

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("content_digest", sa.String(64), nullable=True))
    op.create_index("ix_reports_content", "reports", ["network_id", "content_digest"])


def downgrade() -> None:
    op.drop_index("ix_reports_content", table_name="reports")
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("content_digest")
