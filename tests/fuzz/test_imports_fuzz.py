"""Fuzz every suppression file reader, the format detection and the timestamp parser."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz.strategies import export_seeds, mutated
from tests.fuzz.targets import (
    FUZZ_SETTINGS,
    IMPORT_FORMATS,
    check_detect_format,
    check_timestamp,
    make_import_check,
)

_FILES = st.one_of(mutated(export_seeds()), st.binary(max_size=1024))


@pytest.mark.parametrize("format_name", IMPORT_FORMATS)
@settings(FUZZ_SETTINGS)
@given(data=_FILES)
def test_reader(format_name: str, data: bytes) -> None:
    make_import_check(format_name)(data)


@settings(FUZZ_SETTINGS)
@given(_FILES)
def test_detect_format(data: bytes) -> None:
    check_detect_format(data)


@settings(FUZZ_SETTINGS)
@given(
    st.one_of(
        st.text(max_size=40),
        st.from_regex(r"-?[0-9]{1,20}(\.[0-9]{0,12})?", fullmatch=True),
        st.from_regex(
            r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,12})?)?"
            r"(Z|[+-][0-9]{2}:?[0-9]{2})?",
            fullmatch=True,
        ),
        st.sampled_from(["Mon, 01 Jan 2026 00:00:00 +0000", "1e999", "nan", "inf", "-0"]),
    ).map(lambda text: text.encode("utf-8", errors="surrogatepass"))
)
def test_timestamp(data: bytes) -> None:
    check_timestamp(data)
