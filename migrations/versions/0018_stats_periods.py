"""stats_periods and reports.changed_at: statistics figures kept per month and day (issue 19)

``save-relay stats`` over a year of a million reports took 3 s on SQLite: every breakdown a GROUP BY
over every report. Each month's and day's figures are now kept (``stats_periods``) and computed again
only when one of their reports changed since (``reports.changed_at``, set on every update; the index
answers "which changed since?" per month with one seek). Existing reports get their received time;
``incident_day`` (the day of the month on the network's clock, so that one pass over a month gives
each day's figures) is written by the daemon at its next start (``fill_local_times``): the time zone
is in the settings, not in the database.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("incident_day", sa.SmallInteger(), nullable=True))
    op.execute("UPDATE reports SET changed_at = received_at")
    op.create_index("ix_reports_month_changed", "reports", ["network_id", "incident_month", "changed_at"])
    op.create_table(
        "stats_periods",
        sa.Column("network_id", Id, nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("figures", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], name=op.f("fk_stats_periods_network_id_networks")
        ),
        sa.PrimaryKeyConstraint("network_id", "period", name=op.f("pk_stats_periods")),
    )


def downgrade() -> None:
    op.drop_table("stats_periods")
    op.drop_index("ix_reports_month_changed", table_name="reports")
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("changed_at")
        batch.drop_column("incident_day")
