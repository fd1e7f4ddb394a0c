"""Large files stream: peak memory stays a few MiB whatever the file size.

tracemalloc counts Python allocations only, so the bound is an upper check
on what the readers keep, not a measure of process memory.
"""

from __future__ import annotations

import tracemalloc
from collections import Counter
from pathlib import Path

import pytest

from suppression.formats import FORMATS, ImportRecord, ReadOptions, RejectedLine
from suppression.formats.writers import write_generic_csv

from .test_writers import _row

LINES = 200_000
# The JSON readers run under tracemalloc on fewer items, which is slow. At
# that size a reader that kept its input would still pass the limit: 30,000
# decoded objects take more than 10 MiB.
JSON_ITEMS = 30_000
PEAK_LIMIT_BYTES = 4 * 1024 * 1024


def _write_file(path: Path, format_name: str, count: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        if format_name == "generic_csv":
            # Every 1000th row is damaged, so rejections stream too.
            out.write("email,reason,created_at\n")
            for number in range(count):
                address = f"person{number}@example.com" if number % 1000 else "broken"
                out.write(f'"{address}",unsubscribe,{1712131400 + number}\n')
        elif format_name == "sendgrid_bounces_json":
            out.write("[")
            for number in range(count):
                separator = "," if number else ""
                out.write(
                    f'{separator}{{"created": {1712131400 + number}, '
                    f'"email": "person{number}@example.com", '
                    f'"reason": "550 5.1.1 unknown user", "status": "5.1.1"}}\n'
                )
            out.write("]")
        else:
            for number in range(count):
                out.write(f'{{"emailAddress": "person{number}@example.com", "reason": "BOUNCE"}}\n')


@pytest.mark.parametrize(
    ("format_name", "count"),
    [("generic_csv", LINES), ("sendgrid_bounces_json", JSON_ITEMS), ("ses_put_jsonl", JSON_ITEMS)],
)
def test_large_file_memory_flat(tmp_path: Path, format_name: str, count: int) -> None:
    path = tmp_path / "large"
    _write_file(path, format_name, count)
    reader = FORMATS[format_name].reader
    assert reader is not None
    counts: Counter[str] = Counter()

    tracemalloc.start()
    try:
        with path.open("rb") as stream:
            for result in reader(stream, ReadOptions()):
                counts[type(result).__name__] += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    damaged = count // 1000 if format_name == "generic_csv" else 0
    assert counts[ImportRecord.__name__] == count - damaged
    assert counts[RejectedLine.__name__] == damaged
    assert peak < PEAK_LIMIT_BYTES, f"peak {peak} bytes"


def test_large_export_memory_flat(tmp_path: Path) -> None:
    rows = (_row(number) for number in range(LINES))

    tracemalloc.start()
    try:
        with (tmp_path / "export.csv").open("w", encoding="utf-8", newline="") as out:
            report = write_generic_csv(rows, out)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert report.written == LINES
    assert peak < PEAK_LIMIT_BYTES
