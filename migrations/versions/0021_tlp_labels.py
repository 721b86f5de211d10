"""reports.tlp, tlp_reporter, tlp_requested, tlp_consent: the TLP 2.0 label of a report (issue 17)

A report received before labels existed gets AMBER, the default of TLP 2.0 practice for information
shared within a community and of save-relay's networks (``networks.<key>.tlp``).

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("tlp", sa.String(16), nullable=False, server_default="AMBER"))
        batch.add_column(sa.Column("tlp_reporter", sa.String(16), nullable=False, server_default="AMBER"))
        batch.add_column(sa.Column("tlp_requested", sa.String(16), nullable=True))
        batch.add_column(sa.Column("tlp_consent", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("tlp_consent")
        batch.drop_column("tlp_requested")
        batch.drop_column("tlp_reporter")
        batch.drop_column("tlp")
