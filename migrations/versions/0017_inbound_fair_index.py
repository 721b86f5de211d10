"""inbound_messages (status, lower(mail_from), id): the processor's fair order (issue 16)

The fair order (store/inbound._fair_order) numbers each sender's new messages by id; with this index
both databases read the new messages in that order (SQLite: SEARCH ... USING INDEX ix_inbound_fair;
PostgreSQL: an index scan under the WindowAgg) instead of sorting all of them. With 30,000 queued a
claim took 114-166 ms without it and 63-90 ms with it on SQLite (load ~6 on 2 cores; at load 10 the
runs did not separate); on PostgreSQL the plan changes but JIT dominated (bench/RESULTS.md).

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_inbound_fair", "inbound_messages", ["status", sa.text("lower(mail_from)"), "id"])


def downgrade() -> None:
    op.drop_index("ix_inbound_fair", table_name="inbound_messages")
