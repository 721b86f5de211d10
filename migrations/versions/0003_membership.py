"""subscriptions, bounces and privacy (issue 6)

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "subscription_requests",
        sa.Column("id", ID, nullable=False),
        sa.Column("network_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("company", sa.String(length=200), nullable=False),
        sa.Column("contact", sa.String(length=200), nullable=False),
        sa.Column("street", sa.String(length=300), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=320), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["networks.id"],
            name=op.f("fk_subscription_requests_network_id_networks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_requests")),
    )
    op.create_index(
        "ix_subscription_requests_address",
        "subscription_requests",
        ["network_id", "address", "status"],
        unique=False,
    )
    op.create_table(
        "membership_events",
        sa.Column("id", ID, nullable=False),
        sa.Column("network_id", ID, nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("digested_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["networks.id"],
            name=op.f("fk_membership_events_network_id_networks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership_events")),
    )
    op.create_index("ix_membership_events_address", "membership_events", ["address"], unique=False)
    op.create_index(
        "ix_membership_events_digest", "membership_events", ["network_id", "digested_at"], unique=False
    )
    op.create_table(
        "bounce_events",
        sa.Column("id", ID, nullable=False),
        sa.Column("network_id", ID, nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("delivery_id", ID, nullable=True),
        sa.Column("inbound_id", ID, nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("added", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("diagnostic", sa.String(length=500), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_bounce_events_delivery_id_deliveries"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["inbound_id"],
            ["inbound_messages.id"],
            name=op.f("fk_bounce_events_inbound_id_inbound_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["networks.id"],
            name=op.f("fk_bounce_events_network_id_networks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bounce_events")),
    )
    op.create_index("ix_bounce_events_address", "bounce_events", ["address"], unique=False)
    op.create_index("ix_bounce_events_delivery", "bounce_events", ["delivery_id"], unique=False)
    op.create_table(
        "evidence_holds",
        sa.Column("report_id", ID, nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("held_by", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_evidence_holds_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("report_id", name=op.f("pk_evidence_holds")),
    )
    op.create_table(
        "unmatched_bounces",
        sa.Column("inbound_id", ID, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["inbound_id"],
            ["inbound_messages.id"],
            name=op.f("fk_unmatched_bounces_inbound_id_inbound_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("inbound_id", name=op.f("pk_unmatched_bounces")),
    )
    # Nullable columns without constraints: a plain ALTER TABLE ADD COLUMN on both databases.
    op.add_column(
        "subscriber_addresses", sa.Column("bounce_updated_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("tokens", sa.Column("request_id", ID, nullable=True))
    op.add_column("inbound_messages", sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    for table, column in (
        ("inbound_messages", "purged_at"),
        ("tokens", "request_id"),
        ("subscriber_addresses", "bounce_updated_at"),
    ):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column(column)
    op.drop_table("unmatched_bounces")
    op.drop_table("evidence_holds")
    op.drop_index("ix_bounce_events_delivery", table_name="bounce_events")
    op.drop_index("ix_bounce_events_address", table_name="bounce_events")
    op.drop_table("bounce_events")
    op.drop_index("ix_membership_events_digest", table_name="membership_events")
    op.drop_index("ix_membership_events_address", table_name="membership_events")
    op.drop_table("membership_events")
    op.drop_index("ix_subscription_requests_address", table_name="subscription_requests")
    op.drop_table("subscription_requests")
