"""Large imports on PostgreSQL keep the planner's statistics current.

Without statistics the planner expected a few hundred entries per sender,
so it read every row of the sender to find each batch's existing entries.
A second import of 1,000,000 rows then ran for more than 15 minutes.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from compliance.core.blind_index import BlindIndexer
from compliance.core.db import make_engine
from compliance.core.keys import KeyRing
from compliance.core.tenants import create_sender
from suppression import imports
from suppression.formats import ReadResult
from suppression.formats.build import address_record
from suppression.imports import ImportOptions, import_records
from suppression.models import SuppressionReason
from tests.support.database import DatabaseUrls, postgres_admin_url

pytestmark = pytest.mark.skipif(
    postgres_admin_url() is None,
    reason="needs PostgreSQL: set SENDGUARD_TEST_DATABASE_URL",
)

INDEXER = BlindIndexer(KeyRing(b"m" * 32, b"t" * 32, {1: b"i" * 32}))
ROWS = 6_000
OPTIONS = ImportOptions(source="test", actor="test")


@pytest.fixture
def engine(database_urls: DatabaseUrls) -> Iterator[Engine]:
    engine = make_engine(database_urls.database)
    yield engine
    engine.dispose()


def _records() -> list[ReadResult]:
    return [
        address_record(line, f"reader{line}@example.org", reason=SuppressionReason.UNSUBSCRIBE)
        for line in range(2, ROWS + 2)
    ]


def _planned_rows(session: Session) -> float:
    return float(
        session.execute(
            text("SELECT reltuples FROM pg_class WHERE oid = 'suppression_entries'::regclass")
        ).scalar_one()
    )


def test_import_analyzes_inside_transaction(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "ANALYZE_MIN_ROWS", 1_000)
    with Session(engine) as session:
        sender_id = create_sender(session, "Statistics").id
        session.commit()

    with Session(engine) as session:
        before = _planned_rows(session)
        first = import_records(session, sender_id, INDEXER, _records(), OPTIONS)
        inside = _planned_rows(session)
        session.commit()
    with Session(engine) as session:
        second = import_records(session, sender_id, INDEXER, _records(), OPTIONS)
        committed = _planned_rows(session)
        session.rollback()

    assert before <= 0
    assert first.imported == ROWS
    # Analyzed after 2,000 and 4,000 rows; the next would wait for 8,000.
    assert inside == 4_000
    # Autovacuum may analyze again once the import commits.
    assert committed >= 4_000
    assert second.imported == 0
    assert second.already_present == ROWS


def test_small_import_does_not_analyze(engine: Engine) -> None:
    with Session(engine) as session:
        sender_id = create_sender(session, "Small").id
        session.commit()

    with Session(engine) as session:
        report = import_records(session, sender_id, INDEXER, _records()[:500], OPTIONS)
        planned = _planned_rows(session)
        session.commit()

    assert report.imported == 500
    assert planned <= 0
