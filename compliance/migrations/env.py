"""Alembic environment: runs with the URL that :mod:`compliance.migrate` passes in."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import compliance.core.models
import compliance.core.ratelimit_db
import compliance.reputation.models
import consent.models
import dsr.models
import suppression.models
from compliance.core.db import make_engine

# The imports above register every table on SQLModel.metadata.
_ = (
    compliance.core.models,
    compliance.core.ratelimit_db,
    compliance.reputation.models,
    consent.models,
    dsr.models,
    suppression.models,
)
target_metadata = SQLModel.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError(
            "sqlalchemy.url is not set; run migrations through `sendguard db upgrade`"
        )
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
