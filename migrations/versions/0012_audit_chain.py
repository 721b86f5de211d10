"""audit chain: each audit entry hashed and linked to the previous one; a head row (issue 17)

The existing entries are chained here, in id order, by the same code that chains new ones.

Revision ID: 0012
Revises: 0010
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from save_relay.core.chain import GENESIS, seal

revision: str = "0012"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHAINED = ("id", "at", "network_id", "actor", "via", "action", "object_ref", "message_id", "detail")

audit = sa.table(
    "audit_log",
    sa.column("id", sa.BigInteger()),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("network_id", sa.BigInteger()),
    sa.column("actor", sa.String()),
    sa.column("via", sa.String()),
    sa.column("action", sa.String()),
    sa.column("object_ref", sa.String()),
    sa.column("message_id", sa.String()),
    sa.column("detail", sa.JSON()),
    sa.column("content_hash", sa.String()),
    sa.column("prev_hash", sa.String()),
    sa.column("entry_hash", sa.String()),
)
head = sa.table(
    "audit_chain_head", sa.column("id", sa.SmallInteger()), sa.column("last_id"), sa.column("last_hash")
)


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("content_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("entry_hash", sa.String(length=64), nullable=True))
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("last_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    bind = op.get_bind()
    prev, last_id = GENESIS, 0
    rows = bind.execute(sa.select(*(audit.c[name] for name in CHAINED)).order_by(audit.c.id)).mappings()
    for row in rows.all():
        sealed = seal(prev, {name: row[name] for name in CHAINED})
        bind.execute(
            audit.update()
            .where(audit.c.id == row["id"])
            .values(
                content_hash=sealed.content_hash, prev_hash=sealed.prev_hash, entry_hash=sealed.entry_hash
            )
        )
        prev, last_id = sealed.entry_hash, row["id"]
    bind.execute(head.insert().values(id=1, last_id=last_id, last_hash=prev))


def downgrade() -> None:
    op.drop_table("audit_chain_head")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("entry_hash")
        batch.drop_column("prev_hash")
        batch.drop_column("content_hash")
