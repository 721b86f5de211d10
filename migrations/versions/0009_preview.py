"""the preview: the text a distribution sends and its attachments without metadata (issue 15)

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("preview_text", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("preview_removed", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
    id_type = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "report_attachments",
        sa.Column("id", id_type, nullable=False),
        sa.Column("report_id", id_type, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("content_type", sa.String(120), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("note", sa.String(32), nullable=True),
        sa.Column("removed", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("original_filename", sa.String(200), nullable=False, server_default=""),
        sa.Column("original_size", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("original_sha256", sa.String(64), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("id", name="pk_report_attachments"),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name="fk_report_attachments_report_id_reports", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("report_id", "position", name="uq_report_attachments_report_id"),
    )


def downgrade() -> None:
    op.drop_table("report_attachments")
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("preview_removed")
        batch.drop_column("preview_text")
