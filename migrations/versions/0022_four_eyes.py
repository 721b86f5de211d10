"""approval_requests: four-eyes approvals waiting for a second moderator (issue 17)

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "approval_requests",
        sa.Column("id", Id, primary_key=True),
        sa.Column("network_id", Id, nullable=False),
        sa.Column("report_id", Id, nullable=False),
        sa.Column("kind", sa.String(24), nullable=False, server_default="distribution"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("first_by", sa.String(320), nullable=False),
        sa.Column("first_via", sa.String(16), nullable=False),
        sa.Column("decision", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("second_by", sa.String(320), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], name="fk_approval_requests_network_id_networks"
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name="fk_approval_requests_report_id_reports",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_approval_requests"),
    )
    op.create_index("ix_approval_requests_report", "approval_requests", ["report_id", "status"])
    op.create_index("ix_approval_requests_due", "approval_requests", ["status", "expires_at"])


def downgrade() -> None:
    op.drop_index("ix_approval_requests_due", table_name="approval_requests")
    op.drop_index("ix_approval_requests_report", table_name="approval_requests")
    op.drop_table("approval_requests")
