"""followups: replies about a report, stored whole and linked to it; deliveries.followup_hash (issue 15)

A distribution copy's Reply-To is ``+followup-TOKEN`` with a token per delivery (like its VERP and
unsubscribe tokens: the delivery's id after the random part, only the hash kept here).

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "followups",
        sa.Column("id", Id, nullable=False),
        sa.Column("network_id", Id, nullable=False),
        sa.Column("report_id", Id, nullable=False),
        sa.Column("inbound_id", Id, nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("sent_to", sa.String(length=320), nullable=True),
        sa.Column("found_by", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("forwarded_to", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["inbound_id"], ["inbound_messages.id"], name=op.f("fk_followups_inbound_id_inbound_messages")
        ),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], name=op.f("fk_followups_network_id_networks")
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_followups_report_id_reports"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followups")),
        sa.UniqueConstraint("inbound_id", name=op.f("uq_followups_inbound_id")),
    )
    op.create_index("ix_followups_report", "followups", ["report_id", "id"])
    op.add_column("deliveries", sa.Column("followup_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("deliveries", "followup_hash")
    op.drop_index("ix_followups_report", table_name="followups")
    op.drop_table("followups")
