"""suppression change counters: what the in-memory screening index reads to stay exact

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "suppression_change_counters",
        sa.Column("sender_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("rebuild_version", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["sender_id"], ["senders.id"]),
        sa.PrimaryKeyConstraint("sender_id"),
    )
    with op.batch_alter_table("suppression_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("change_version", sa.BigInteger(), nullable=True))
        batch_op.create_index(
            "ix_suppression_sender_change", ["sender_id", "change_version"], unique=False
        )
    # Rows written before this revision count as version 0: every index is
    # built after the upgrade, so it holds them already.
    op.execute("UPDATE suppression_entries SET change_version = 0")
    op.create_index(
        "ix_suppression_unstamped",
        "suppression_entries",
        ["sender_id"],
        unique=False,
        sqlite_where=sa.text("change_version IS NULL"),
        postgresql_where=sa.text("change_version IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_suppression_unstamped", table_name="suppression_entries")
    with op.batch_alter_table("suppression_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_suppression_sender_change")
        batch_op.drop_column("change_version")
    op.drop_table("suppression_change_counters")
