"""bounce events

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 22:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bounce_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("campaign_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("blind_index", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("bounce_class", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("reply_code", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("feedback_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("message_ref", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("fingerprint", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["sender_id"], ["senders.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sender_id", "fingerprint"),
    )
    with op.batch_alter_table("bounce_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_bounce_events_sender_index",
            ["sender_id", "blind_index", "occurred_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_bounce_events_campaign_id"), ["campaign_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_bounce_events_sender_id"), ["sender_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("bounce_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bounce_events_sender_id"))
        batch_op.drop_index(batch_op.f("ix_bounce_events_campaign_id"))
        batch_op.drop_index("ix_bounce_events_sender_index")
    op.drop_table("bounce_events")
