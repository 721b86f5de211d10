"""reference_counters: each network's own reference counter (issue 15)

References were made of the report id, one sequence for every network. From here each prefix counts on
its own; the counters start after the highest number each prefix already used in each year, so every
existing reference stays valid and no new one repeats it.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFERENCE = re.compile(r"^([A-Z][A-Z0-9]{0,9})-(\d{4})-(\d+)$")


def upgrade() -> None:
    counters = op.create_table(
        "reference_counters",
        sa.Column("prefix", sa.String(length=10), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("prefix", "year", name=op.f("pk_reference_counters")),
    )
    highest: dict[tuple[str, int], int] = {}
    rows = op.get_bind().execute(sa.text("SELECT reference FROM reports WHERE reference IS NOT NULL"))
    for (reference,) in rows:
        match = REFERENCE.match(reference)
        if match:
            key = (match.group(1), int(match.group(2)))
            highest[key] = max(highest.get(key, 0), int(match.group(3)))
    if highest:
        op.bulk_insert(
            counters,
            [{"prefix": p, "year": y, "last_value": n} for (p, y), n in sorted(highest.items())],
        )


def downgrade() -> None:
    op.drop_table("reference_counters")
