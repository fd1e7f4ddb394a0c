"""consent depth: topics, lawful-basis facts, checkpoints, reminders

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 22:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "topics",
        sa.Column("id", _STR(length=36), nullable=False),
        sa.Column("sender_id", _STR(length=36), nullable=False),
        sa.Column("key", _STR(length=64), nullable=False),
        sa.Column("name_en", _STR(length=200), nullable=False),
        sa.Column("name_fr", _STR(length=200), nullable=False),
        sa.Column("wording_en", _STR(length=2000), nullable=False),
        sa.Column("wording_fr", _STR(length=2000), nullable=False),
        sa.Column("wording_version", _STR(length=64), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["sender_id"], ["senders.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sender_id", "key"),
    )
    with op.batch_alter_table("topics", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_topics_sender_id"), ["sender_id"], unique=False)

    op.create_table(
        "consent_checkpoints",
        sa.Column("id", _STR(length=36), nullable=False),
        sa.Column("sender_id", _STR(length=36), nullable=False),
        sa.Column("head_record_id", sa.Integer(), nullable=True),
        sa.Column("head_hash", _STR(length=64), nullable=False),
        sa.Column("record_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", _STR(length=32), nullable=False),
        sa.Column("signature", _STR(length=200), nullable=False),
        sa.ForeignKeyConstraint(["sender_id"], ["senders.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("consent_checkpoints", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consent_checkpoints_sender_id"), ["sender_id"], unique=False
        )

    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("country", _STR(length=2), nullable=True))
        batch_op.add_column(sa.Column("audience", _STR(length=3), nullable=True))
        batch_op.add_column(
            sa.Column("reminder_sent_at", sa.DateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("consent_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("country", _STR(length=2), nullable=True))
        batch_op.add_column(sa.Column("audience", _STR(length=3), nullable=True))
        batch_op.add_column(sa.Column("relationship_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("opt_out_offered", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("related_to_profession", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("declared_minor", sa.Boolean(), nullable=True))
        batch_op.add_column(
            sa.Column("parental_consent", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("has_proof", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        # Existing records were hashed over the version 1 field set.
        batch_op.add_column(
            sa.Column("hash_version", sa.Integer(), nullable=False, server_default="1")
        )


def downgrade() -> None:
    with op.batch_alter_table("consent_records", schema=None) as batch_op:
        for name in (
            "hash_version",
            "has_proof",
            "parental_consent",
            "declared_minor",
            "related_to_profession",
            "opt_out_offered",
            "relationship_at",
            "audience",
            "country",
        ):
            batch_op.drop_column(name)
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_column("reminder_sent_at")
        batch_op.drop_column("audience")
        batch_op.drop_column("country")
    with op.batch_alter_table("consent_checkpoints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_checkpoints_sender_id"))
    op.drop_table("consent_checkpoints")
    with op.batch_alter_table("topics", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_topics_sender_id"))
    op.drop_table("topics")
