"""incidents as data: category, incident time (with its local weekday, hour, month), place, exercise (issue 19)

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _columns() -> list[sa.Column[object]]:
    """Fresh Column objects each time (a Column belongs to one table once added)."""
    return [
        sa.Column("category", sa.String(32), nullable=False, server_default="other"),
        sa.Column("category_source", sa.String(16), nullable=False, server_default="backfill"),
        sa.Column("incident_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("incident_source", sa.String(16), nullable=False, server_default="received"),
        sa.Column("incident_weekday", sa.SmallInteger(), nullable=True),
        sa.Column("incident_hour", sa.SmallInteger(), nullable=True),
        sa.Column("incident_month", sa.String(7), nullable=True),
        sa.Column("place_lat", sa.Float(), nullable=True),
        sa.Column("place_lon", sa.Float(), nullable=True),
        sa.Column("place_label", sa.String(300), nullable=False, server_default=""),
        sa.Column("place_source", sa.String(16), nullable=False, server_default="none"),
        sa.Column("exercise", sa.Boolean(), nullable=False, server_default=sa.false()),
    ]


def upgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        for column in _columns():
            batch.add_column(column)
    # Existing reports: category "other", the time they were received, the reporter's location. The
    # weekday, hour and month on the network's clock are filled by the application, which knows each
    # network's time zone (store.stats.fill_local_times, at start-up).
    op.execute("UPDATE reports SET incident_at = received_at")
    op.execute(
        "UPDATE reports SET place_lat = (SELECT latitude FROM subscribers s WHERE s.id = reports.subscriber_id),"
        " place_lon = (SELECT longitude FROM subscribers s WHERE s.id = reports.subscriber_id),"
        " place_label = COALESCE((SELECT company FROM subscribers s WHERE s.id = reports.subscriber_id), ''),"
        " place_source = 'reporter'"
        " WHERE subscriber_id IS NOT NULL"
        " AND (SELECT latitude FROM subscribers s WHERE s.id = reports.subscriber_id) IS NOT NULL"
    )
    op.create_index("ix_reports_incident", "reports", ["network_id", "incident_at"])


def downgrade() -> None:
    op.drop_index("ix_reports_incident", table_name="reports")
    with op.batch_alter_table("reports") as batch:
        for column in reversed(_columns()):
            batch.drop_column(column.name)
