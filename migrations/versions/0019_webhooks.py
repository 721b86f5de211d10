"""channel_events (the webhooks' outbox) and deliveries (kind, status, next_attempt_at) (issue 21)

A feature records an event in its own transaction; the webhook-events job queues one delivery of kind
``webhook`` per eligible endpoint. The webhook worker claims its kind through the new index, so a
flood of queued mail is not read on every claim.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "channel_events",
        sa.Column("id", ID, nullable=False),
        sa.Column("network_id", ID, nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("report_id", ID, nullable=True),
        sa.Column("canvass_id", ID, nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], name=op.f("fk_channel_events_network_id_networks")
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_channel_events_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["canvass_id"],
            ["canvasses.id"],
            name=op.f("fk_channel_events_canvass_id_canvasses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_events")),
    )
    op.create_index("ix_channel_events_pending", "channel_events", ["dispatched_at", "id"])
    op.create_index("ix_deliveries_kind_due", "deliveries", ["kind", "status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_kind_due", table_name="deliveries")
    op.drop_index("ix_channel_events_pending", table_name="channel_events")
    op.drop_table("channel_events")
