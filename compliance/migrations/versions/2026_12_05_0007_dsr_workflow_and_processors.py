"""dsr workflow and processors: request lifecycle, processors to notify, their tasks

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 01:32:21

Existing requests get source 'dpo', key version 1 and no exceptions.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "processors",
        sa.Column("id", _STR(length=36), nullable=False),
        sa.Column("sender_id", _STR(length=36), nullable=False),
        sa.Column("name", _STR(length=120), nullable=False),
        sa.Column("kind", _STR(length=12), nullable=False),
        sa.Column("url", _STR(length=500), nullable=False),
        sa.Column("secret_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("config", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["sender_id"],
            ["senders.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("processors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_processors_sender_id"), ["sender_id"], unique=False)

    op.create_table(
        "processor_tasks",
        sa.Column("id", _STR(length=36), nullable=False),
        sa.Column("sender_id", _STR(length=36), nullable=False),
        sa.Column("request_id", _STR(length=36), nullable=False),
        sa.Column("processor_id", _STR(length=36), nullable=False),
        sa.Column("action", _STR(length=16), nullable=False),
        sa.Column("status", _STR(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", _STR(length=300), nullable=True),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("remote_ref", _STR(length=120), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["processor_id"],
            ["processors.id"],
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["data_subject_requests.id"],
        ),
        sa.ForeignKeyConstraint(
            ["sender_id"],
            ["senders.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id", "processor_id"),
    )
    with op.batch_alter_table("processor_tasks", schema=None) as batch_op:
        batch_op.create_index("ix_processor_tasks_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_processor_tasks_request_id"), ["request_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_processor_tasks_sender_id"), ["sender_id"], unique=False
        )

    with op.batch_alter_table("data_subject_requests", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source", _STR(length=12), nullable=False, server_default="dpo")
        )
        batch_op.add_column(sa.Column("external_ref", _STR(length=120), nullable=True))
        batch_op.add_column(
            sa.Column("subject_index_version", sa.Integer(), nullable=False, server_default="1")
        )
        batch_op.add_column(sa.Column("original_due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("extended_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("extension_reason", _STR(length=1000), nullable=True))
        batch_op.add_column(
            sa.Column("extension_notified_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "updated_at",
                sa.DateTime(timezone=True),
                nullable=False,
                server_default=sa.func.now(),
            )
        )
        batch_op.add_column(sa.Column("rejection_ground", _STR(length=40), nullable=True))
        batch_op.add_column(sa.Column("rejection_note", _STR(length=1000), nullable=True))
        batch_op.add_column(sa.Column("code_hash", _STR(length=64), nullable=True))
        batch_op.add_column(sa.Column("code_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("code_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("payload_ciphertext", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("export_ciphertext", sa.LargeBinary(), nullable=True))
        batch_op.add_column(
            sa.Column("export_expires_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("exceptions", sa.Text(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("certificate", sa.Text(), nullable=True))
        batch_op.alter_column(
            "outcome",
            existing_type=sa.VARCHAR(length=4000),
            type_=sa.Text(),
            existing_nullable=False,
        )
        batch_op.create_index(
            "ix_dsr_sender_status_due", ["sender_id", "status", "due_at"], unique=False
        )
        batch_op.create_unique_constraint(
            "uq_dsr_sender_external_ref", ["sender_id", "external_ref"]
        )


def downgrade() -> None:
    with op.batch_alter_table("data_subject_requests", schema=None) as batch_op:
        batch_op.drop_constraint("uq_dsr_sender_external_ref", type_="unique")
        batch_op.drop_index("ix_dsr_sender_status_due")
        batch_op.alter_column(
            "outcome",
            existing_type=sa.Text(),
            type_=sa.VARCHAR(length=4000),
            existing_nullable=False,
        )
        batch_op.drop_column("certificate")
        batch_op.drop_column("exceptions")
        batch_op.drop_column("export_expires_at")
        batch_op.drop_column("export_ciphertext")
        batch_op.drop_column("payload_ciphertext")
        batch_op.drop_column("code_attempts")
        batch_op.drop_column("code_expires_at")
        batch_op.drop_column("code_hash")
        batch_op.drop_column("rejection_note")
        batch_op.drop_column("rejection_ground")
        batch_op.drop_column("updated_at")
        batch_op.drop_column("extension_notified_at")
        batch_op.drop_column("extension_reason")
        batch_op.drop_column("extended_at")
        batch_op.drop_column("original_due_at")
        batch_op.drop_column("subject_index_version")
        batch_op.drop_column("external_ref")
        batch_op.drop_column("source")

    with op.batch_alter_table("processor_tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_processor_tasks_sender_id"))
        batch_op.drop_index(batch_op.f("ix_processor_tasks_request_id"))
        batch_op.drop_index("ix_processor_tasks_due")

    op.drop_table("processor_tasks")
    with op.batch_alter_table("processors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_processors_sender_id"))

    op.drop_table("processors")
