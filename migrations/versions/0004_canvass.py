"""canvasses and scheduled work (issue 5)

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "canvasses",
        sa.Column("id", ID, nullable=False),
        sa.Column("network_id", ID, nullable=False),
        sa.Column("owner", sa.String(length=320), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("place", sa.String(length=300), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("radius_m", sa.Float(), nullable=True),
        sa.Column("zones", sa.JSON(), nullable=False),
        sa.Column("window_start", WHEN, nullable=True),
        sa.Column("window_end", WHEN, nullable=True),
        sa.Column("send_at", WHEN, nullable=False),
        sa.Column("remind_at", WHEN, nullable=True),
        sa.Column("close_at", WHEN, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_at", WHEN, nullable=True),
        sa.Column("next_digest_at", WHEN, nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("cancel_hash", sa.String(length=64), nullable=True),
        sa.Column("inbound_id", ID, nullable=True),
        sa.Column("created_via", sa.String(length=16), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("sent_at", WHEN, nullable=True),
        sa.Column("reminded_at", WHEN, nullable=True),
        sa.Column("closed_at", WHEN, nullable=True),
        sa.Column("cancelled_at", WHEN, nullable=True),
        sa.Column("cancelled_by", sa.String(length=320), nullable=True),
        sa.ForeignKeyConstraint(
            ["inbound_id"], ["inbound_messages.id"], name=op.f("fk_canvasses_inbound_id_inbound_messages")
        ),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], name=op.f("fk_canvasses_network_id_networks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canvasses")),
    )
    op.create_index("ix_canvasses_due", "canvasses", ["status", "due_at"], unique=False)
    op.create_index(op.f("ix_canvasses_cancel_hash"), "canvasses", ["cancel_hash"], unique=False)
    op.create_table(
        "canvass_recipients",
        sa.Column("id", ID, nullable=False),
        sa.Column("canvass_id", ID, nullable=False),
        sa.Column("subscriber_id", ID, nullable=True),
        sa.Column("company", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("responded_at", WHEN, nullable=True),
        sa.Column("reminded_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(
            ["canvass_id"],
            ["canvasses.id"],
            name=op.f("fk_canvass_recipients_canvass_id_canvasses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name=op.f("fk_canvass_recipients_subscriber_id_subscribers"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canvass_recipients")),
        sa.UniqueConstraint("canvass_id", "address", name=op.f("uq_canvass_recipients_canvass_id")),
    )
    op.create_table(
        "canvass_tokens",
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("recipient_id", ID, nullable=False),
        sa.Column("mail", sa.String(length=16), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["canvass_recipients.id"],
            name=op.f("fk_canvass_tokens_recipient_id_canvass_recipients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("hash", name=op.f("pk_canvass_tokens")),
    )
    op.create_index(op.f("ix_canvass_tokens_recipient_id"), "canvass_tokens", ["recipient_id"], unique=False)
    op.create_table(
        "canvass_answers",
        sa.Column("id", ID, nullable=False),
        sa.Column("canvass_id", ID, nullable=False),
        sa.Column("recipient_id", ID, nullable=False),
        sa.Column("inbound_id", ID, nullable=False),
        sa.Column("sender", sa.String(length=320), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("received_at", WHEN, nullable=False),
        sa.Column("forwarded_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(
            ["canvass_id"],
            ["canvasses.id"],
            name=op.f("fk_canvass_answers_canvass_id_canvasses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["inbound_id"],
            ["inbound_messages.id"],
            name=op.f("fk_canvass_answers_inbound_id_inbound_messages"),
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["canvass_recipients.id"],
            name=op.f("fk_canvass_answers_recipient_id_canvass_recipients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canvass_answers")),
        sa.UniqueConstraint("inbound_id", name=op.f("uq_canvass_answers_inbound_id")),
    )
    op.create_index("ix_canvass_answers_canvass", "canvass_answers", ["canvass_id", "id"], unique=False)
    op.create_table(
        "scheduler_jobs",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("next_run_at", WHEN, nullable=False),
        sa.Column("last_run_at", WHEN, nullable=True),
        sa.Column("last_node", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduler_jobs")),
    )
    # A nullable column without constraints: a plain ALTER TABLE ADD COLUMN on both databases.
    op.add_column("reports", sa.Column("reminded_at", WHEN, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reports") as batch_op:
        batch_op.drop_column("reminded_at")
    op.drop_table("scheduler_jobs")
    op.drop_index("ix_canvass_answers_canvass", table_name="canvass_answers")
    op.drop_table("canvass_answers")
    op.drop_index(op.f("ix_canvass_tokens_recipient_id"), table_name="canvass_tokens")
    op.drop_table("canvass_tokens")
    op.drop_table("canvass_recipients")
    op.drop_index(op.f("ix_canvasses_cancel_hash"), table_name="canvasses")
    op.drop_index("ix_canvasses_due", table_name="canvasses")
    op.drop_table("canvasses")
