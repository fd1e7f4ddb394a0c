"""Fuzz the footer postal address check with real footers, mutations and random text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz.strategies import footer_seeds, mutated
from tests.fuzz.targets import FUZZ_SETTINGS, check_footer_address

_FOOTER_BYTES = [text.encode("utf-8") for text in footer_seeds()]


@settings(FUZZ_SETTINGS)
@given(st.text(max_size=400))
def test_footer_random_text(text: str) -> None:
    check_footer_address(text.encode("utf-8", errors="surrogatepass"))


@settings(FUZZ_SETTINGS)
@given(mutated(_FOOTER_BYTES))
def test_footer_mutated(data: bytes) -> None:
    check_footer_address(data)


@settings(FUZZ_SETTINGS)
@given(
    st.lists(st.sampled_from(footer_seeds()), min_size=1, max_size=4),
    st.sampled_from(["\n", "<br>", ", ", " | "]),
)
def test_footer_joined(texts: list[str], separator: str) -> None:
    check_footer_address(separator.join(texts).encode("utf-8"))
