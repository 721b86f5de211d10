"""webhook_endpoints: webhook endpoints managed per organisation in the database (issue 21)

Beside the settings' ``[[networks.X.webhooks]]``: added, disabled, rotated and removed with the CLI,
a CSV import or the console. The secret is the raw ``whsec_`` key (HMAC signing needs it).

Revision ID: 0025
Revises: 0024
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", Id, nullable=False),
        sa.Column("network_id", Id, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("organisation", sa.String(200), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("secret", sa.String(200), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("zones", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("timeout", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("secret_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], name=op.f("fk_webhook_endpoints_network_id_networks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
        sa.UniqueConstraint("network_id", "name", name=op.f("uq_webhook_endpoints_network_id")),
    )


def downgrade() -> None:
    op.drop_table("webhook_endpoints")
