"""dashboard session revocations: sign-out ends a session on the server

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
        "dashboard_session_revocations",
        sa.Column("session_id", _STR(length=64), nullable=False),
        sa.Column("sender_id", _STR(length=36), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["sender_id"], ["senders.id"]),
        sa.PrimaryKeyConstraint("session_id"),
    )
    op.create_index(
        "ix_dashboard_session_revocations_sender_id",
        "dashboard_session_revocations",
        ["sender_id"],
        unique=False,
    )
    op.create_index(
        "ix_dashboard_session_revocations_expires_at",
        "dashboard_session_revocations",
        ["expires_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        "ix_dashboard_session_revocations_expires_at", table_name="dashboard_session_revocations"
    )
    op.drop_index(
        "ix_dashboard_session_revocations_sender_id", table_name="dashboard_session_revocations"
    )
    op.drop_table("dashboard_session_revocations")
