"""drop redundant event indexes: sender_id alone is the prefix of a composite index

Deleting a subject's delivery events updates every index of the table, so
an index that another one already covers only slows erasure down.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 02:15:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("delivery_events", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_events_sender_id")
    with op.batch_alter_table("bounce_events", schema=None) as batch_op:
        batch_op.drop_index("ix_bounce_events_sender_id")


def downgrade() -> None:
    with op.batch_alter_table("bounce_events", schema=None) as batch_op:
        batch_op.create_index("ix_bounce_events_sender_id", ["sender_id"], unique=False)
    with op.batch_alter_table("delivery_events", schema=None) as batch_op:
        batch_op.create_index("ix_delivery_events_sender_id", ["sender_id"], unique=False)
