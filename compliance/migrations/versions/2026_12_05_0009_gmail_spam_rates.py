"""gmail spam rates: the daily rate from Postmaster Tools, per sending domain

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 02:15:36
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "gmail_spam_rates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", _STR(length=36), nullable=False),
        sa.Column("domain", _STR(length=253), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("spam_rate", sa.Float(), nullable=False),
        sa.Column("source", _STR(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["sender_id"],
            ["senders.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sender_id", "domain", "day"),
    )
    with op.batch_alter_table("gmail_spam_rates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gmail_spam_rates_sender_id"), ["sender_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("gmail_spam_rates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gmail_spam_rates_sender_id"))

    op.drop_table("gmail_spam_rates")
