"""Replay every kept crashing input: each must now give a clean result.

``crashers/<target>/`` holds the inputs that once crashed the parser named
by ``<target>``, a key of ``TARGETS``. Each file is fed as bytes to that
target's check, which accepts a result or the parser's documented error.
Files named ``README.md`` or ending in ``.license`` are documentation.
An input that once made a parser hang must also finish within
``MAX_SECONDS``, far above what the fixed parsers need and far below what
the slow ones took.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.fuzz.targets import TARGETS

CRASHERS = Path(__file__).resolve().parent / "crashers"
MAX_SECONDS = 10.0


def _kept_inputs() -> list[Path]:
    return sorted(
        path
        for path in CRASHERS.glob("*/*")
        if path.is_file() and path.name != "README.md" and not path.name.endswith(".license")
    )


def test_crasher_folders_name_targets() -> None:
    folders = [path.name for path in CRASHERS.iterdir() if path.is_dir()]

    assert folders, f"no crasher folder under {CRASHERS}"
    unknown = sorted(set(folders) - set(TARGETS))
    assert unknown == [], f"crasher folders with no target of that name: {unknown}"


@pytest.mark.parametrize("path", _kept_inputs(), ids=lambda path: f"{path.parent.name}/{path.name}")
def test_kept_input_is_clean(path: Path) -> None:
    data = path.read_bytes()

    started = time.perf_counter()
    TARGETS[path.parent.name](data)
    elapsed = time.perf_counter() - started

    assert elapsed < MAX_SECONDS, f"{path.name} took {elapsed:.1f} s"
