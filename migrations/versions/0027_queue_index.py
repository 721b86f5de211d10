"""reports: ix_reports_status on (network_id, status, id): the console queue's page of one status, newest
first, is an index range instead of a backward scan of every report (issue 18's bench)

Revision ID: 0027
Revises: 0026
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_reports_status", table_name="reports")
    op.create_index("ix_reports_status", "reports", ["network_id", "status", "id"])


def downgrade() -> None:
    op.drop_index("ix_reports_status", table_name="reports")
    op.create_index("ix_reports_status", "reports", ["network_id", "status"])
