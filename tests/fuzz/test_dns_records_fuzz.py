"""Fuzz the SPF and DMARC record parsers and the zone file reader."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz.strategies import dmarc_records, mutated, spf_records, zone_seeds, zone_texts
from tests.fuzz.targets import FUZZ_SETTINGS, check_dmarc_record, check_spf_record, check_zone_file


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", errors="surrogatepass")


@settings(FUZZ_SETTINGS)
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300).map(lambda raw: b"v=spf1 " + raw)))
def test_spf_random_text(value: str | bytes) -> None:
    check_spf_record(value if isinstance(value, bytes) else _utf8(value))


@settings(FUZZ_SETTINGS)
@given(spf_records)
def test_spf_grammar(record: str) -> None:
    check_spf_record(_utf8(record))


@settings(FUZZ_SETTINGS)
@given(
    st.one_of(st.text(max_size=300), st.binary(max_size=300).map(lambda raw: b"v=DMARC1;" + raw))
)
def test_dmarc_random_text(value: str | bytes) -> None:
    check_dmarc_record(value if isinstance(value, bytes) else _utf8(value))


@settings(FUZZ_SETTINGS)
@given(dmarc_records)
def test_dmarc_grammar(record: str) -> None:
    check_dmarc_record(_utf8(record))


@settings(FUZZ_SETTINGS)
@given(zone_texts)
def test_zone_grammar(text: str) -> None:
    check_zone_file(_utf8(text))


@settings(FUZZ_SETTINGS)
@given(st.one_of(mutated(zone_seeds()), st.binary(max_size=512)))
def test_zone_mutated_files(data: bytes) -> None:
    check_zone_file(data)
