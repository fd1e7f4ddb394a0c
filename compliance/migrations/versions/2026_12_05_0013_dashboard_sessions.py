"""dashboard sessions: sign-in records that sign-out and the session list end

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "dashboard_sessions",
        sa.Column("session_id", _STR(length=64), nullable=False),
        sa.Column("sender_id", _STR(length=36), nullable=False),
        sa.Column("key_id", _STR(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("user_agent", _STR(length=200), nullable=False),
        sa.ForeignKeyConstraint(["key_id"], ["api_keys.id"]),
        sa.ForeignKeyConstraint(["sender_id"], ["senders.id"]),
        sa.PrimaryKeyConstraint("session_id"),
    )
    for column in ("sender_id", "key_id", "expires_at"):
        op.create_index(
            f"ix_dashboard_sessions_{column}", "dashboard_sessions", [column], unique=False
        )


def downgrade() -> None:
    for column in ("expires_at", "key_id", "sender_id"):
        op.drop_index(f"ix_dashboard_sessions_{column}", table_name="dashboard_sessions")
    op.drop_table("dashboard_sessions")
