"""A long read never holds back a write (SQLite's write lock is taken only by writers)."""

from __future__ import annotations

import threading
import time

from sqlmodel import Session, select

from compliance.core.db import make_engine, read_only
from compliance.core.models import Sender
from compliance.core.settings import Settings
from compliance.core.tenants import create_sender


def test_open_read_does_not_block_write(settings: Settings) -> None:
    engine = make_engine(settings.resolved_database_url)
    with Session(engine) as session:
        create_sender(session, "Before")
        session.commit()

    finished = threading.Event()
    with Session(read_only(engine)) as reader:
        # The read transaction stays open, as during a long export.
        assert len(reader.exec(select(Sender)).all()) == 1

        def write() -> None:
            with Session(engine) as writer:
                create_sender(writer, "During")
                writer.commit()
            finished.set()

        started = time.monotonic()
        thread = threading.Thread(target=write)
        thread.start()
        assert finished.wait(10), "the write waited for the open read transaction"
        thread.join()
        assert time.monotonic() - started < 5

    with Session(engine) as session:
        assert len(session.exec(select(Sender)).all()) == 2
    engine.dispose()
