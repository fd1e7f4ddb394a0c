"""campaign reports: the pre-send report stored per campaign

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "campaign_reports",
        sa.Column("id", _STR(length=36), nullable=False),
        sa.Column("campaign_id", _STR(length=36), nullable=False),
        sa.Column("sender_id", _STR(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verdict", _STR(length=8), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"]),
        sa.ForeignKeyConstraint(["sender_id"], ["senders.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("campaign_reports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_campaign_reports_sender_id"), ["sender_id"], unique=False
        )
        batch_op.create_index(
            "ix_campaign_reports_campaign_created", ["campaign_id", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("campaign_reports", schema=None) as batch_op:
        batch_op.drop_index("ix_campaign_reports_campaign_created")
        batch_op.drop_index(batch_op.f("ix_campaign_reports_sender_id"))
    op.drop_table("campaign_reports")
