"""Benchmark suppression imports: generic CSV rows per second, from file bytes to committed entries.

Generates ROWS distinct addresses as a Sendguard generic CSV in memory,
reads it with the streaming reader and applies it with ``import_records``
on a fresh SQLite database, then imports it a second time (every row
already present). Prints the machine and the rates of both runs.

    .venv/bin/python benchmarks/suppression_import.py --rows 200000
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.suppression_screening import machine
from compliance import migrate
from compliance.core.blind_index import BlindIndexer
from compliance.core.db import make_engine
from compliance.core.keys import KeyRing
from compliance.core.tenants import create_sender
from suppression.formats import FORMATS, ReadOptions
from suppression.imports import ImportOptions, import_records


def generate(rows: int) -> bytes:
    lines = ["email,reason"]
    lines.extend(f"reader.{number}@example{number % 97}.org,unsubscribe" for number in range(rows))
    return ("\n".join(lines) + "\n").encode("utf-8")


def run(
    session: Session, sender_id: str, indexer: BlindIndexer, content: bytes
) -> tuple[float, int, int]:
    reader = FORMATS["generic_csv"].reader
    assert reader is not None
    started = time.perf_counter()
    report = import_records(
        session,
        sender_id,
        indexer,
        reader(io.BytesIO(content), ReadOptions()),
        ImportOptions(source="benchmark", actor="benchmark"),
    )
    session.commit()
    return time.perf_counter() - started, report.imported, report.already_present


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows", type=int, default=200_000, help="rows in the generated file (default 200,000)"
    )
    args = parser.parse_args()

    indexer = BlindIndexer(KeyRing(b"m" * 32, b"t" * 32, {1: b"benchmark-blind-index-key-000000"}))
    content = generate(args.rows)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'import.db'}"
        migrate.upgrade(url)
        engine = make_engine(url)
        with Session(engine) as session:
            sender_id = create_sender(session, "Benchmark").id
            session.commit()
            first = run(session, sender_id, indexer, content)
            second = run(session, sender_id, indexer, content)
        engine.dispose()

    print(f"machine          {machine()}")
    print(f"rows             {args.rows:,} ({len(content) / 1e6:.1f} MB of CSV)")
    print(
        f"first import     {first[0]:.2f} s, {args.rows / first[0]:,.0f} rows/s, {first[1]:,} imported"
    )
    print(
        f"second import    {second[0]:.2f} s, {args.rows / second[0]:,.0f} rows/s, {second[2]:,} already present"
    )
    return 0 if first[1] == args.rows and second[2] == args.rows else 1


if __name__ == "__main__":
    sys.exit(main())
