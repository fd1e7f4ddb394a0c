"""preference center: contact preferences, preference events, self-service requests

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 23:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_ciphertext", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("paused_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("links_not_before", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("pending_email_ciphertext", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("pending_email_token_id", _STR(length=64), nullable=True))

    op.create_table(
        "preference_events",
        sa.Column("id", _STR(length=36), nullable=False),
        sa.Column("sender_id", _STR(length=36), nullable=False),
        sa.Column("contact_id", _STR(length=36), nullable=False),
        sa.Column("kind", _STR(length=24), nullable=False),
        sa.Column("method", _STR(length=16), nullable=False),
        sa.Column("scope", _STR(length=80), nullable=False),
        sa.Column("value", _STR(length=40), nullable=True),
        sa.Column("client_hash", _STR(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reversed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reversed_by", _STR(length=80), nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"]),
        sa.ForeignKeyConstraint(["sender_id"], ["senders.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("preference_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_preference_events_sender_id"), ["sender_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_preference_events_contact_id"), ["contact_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_preference_events_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "self_service_requests",
        sa.Column("id", _STR(length=64), nullable=False),
        sa.Column("sender_id", _STR(length=36), nullable=False),
        sa.Column("contact_id", _STR(length=36), nullable=False),
        sa.Column("action", _STR(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"]),
        sa.ForeignKeyConstraint(["sender_id"], ["senders.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("self_service_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_self_service_requests_sender_id"), ["sender_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_self_service_requests_contact_id"), ["contact_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("self_service_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_self_service_requests_contact_id"))
        batch_op.drop_index(batch_op.f("ix_self_service_requests_sender_id"))
    op.drop_table("self_service_requests")
    with op.batch_alter_table("preference_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_preference_events_created_at"))
        batch_op.drop_index(batch_op.f("ix_preference_events_contact_id"))
        batch_op.drop_index(batch_op.f("ix_preference_events_sender_id"))
    op.drop_table("preference_events")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        for name in (
            "pending_email_token_id",
            "pending_email_ciphertext",
            "links_not_before",
            "paused_until",
            "name_ciphertext",
        ):
            batch_op.drop_column(name)
