"""dsr event purge: what an erasure still has to delete in batches after the request

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 04:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("data_subject_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("event_purge", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("data_subject_requests", schema=None) as batch_op:
        batch_op.drop_column("event_purge")
