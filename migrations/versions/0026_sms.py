"""SMS for urgent reports (issue 21): subscribers' mobile numbers, urgent distributions, SMS parts

``subscriber_phones``: E.164 numbers per subscriber with their SMS opt-in. ``distributions.urgent`` and
``sms_text``: an urgent distribution also goes by SMS (deliveries of kind ``sms``). ``sms_parts``: each
part the gateway took, with its message id there and the delivery receipt it reports later.

Revision ID: 0026
Revises: 0025
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "subscriber_phones",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("subscriber_id", Id, sa.ForeignKey("subscribers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("number", sa.String(16), nullable=False),
        sa.Column("sms", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("subscriber_id", "number", name="uq_subscriber_phones"),
    )
    op.create_index("ix_subscriber_phones_subscriber_id", "subscriber_phones", ["subscriber_id"])
    # A plain ADD COLUMN (SQLite has it): batch mode would reflect the table and those it refers to.
    op.add_column("distributions", sa.Column("urgent", sa.Boolean, nullable=False, server_default=sa.false()))
    op.add_column("distributions", sa.Column("sms_text", sa.Text, nullable=True))
    op.create_table(
        "sms_parts",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("network_id", Id, sa.ForeignKey("networks.id"), nullable=False),
        sa.Column("delivery_id", Id, sa.ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False),
        sa.Column("part", sa.Integer, nullable=False),
        sa.Column("message_id", sa.String(80), nullable=False),
        sa.Column("state", sa.String(16), nullable=True),
        sa.Column("error", sa.String(200), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("receipt_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_sms_parts_delivery_id", "sms_parts", ["delivery_id"])
    op.create_index("ix_sms_parts_message", "sms_parts", ["network_id", "message_id"])


def downgrade() -> None:
    op.drop_table("sms_parts")
    with op.batch_alter_table("distributions") as batch:
        batch.drop_column("sms_text")
        batch.drop_column("urgent")
    op.drop_table("subscriber_phones")
