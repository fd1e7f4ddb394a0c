"""The screening fast path never accepts what email-validator rejects."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from suppression.syntax import fast_path_valid, is_valid_address

ATEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~-."
LABEL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=70)


def validator_accepts(address: str) -> bool:
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


addresses = st.builds(
    lambda local, labels, tld: f"{local}@{'.'.join([*labels, tld])}",
    st.text(alphabet=ATEXT, min_size=0, max_size=70),
    st.lists(LABEL, min_size=1, max_size=4),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=70),
)


@settings(max_examples=3000, suppress_health_check=[HealthCheck.too_slow])
@given(addresses)
@example("a..b@example.com")
@example(".a@example.com")
@example("a@-example.com")
@example("a@example.123")
@example("a@xn--abc.com")
@example("a@ab--cd.com")
@example("a@example.invalid")
@example("a@localhost.localhost")
def test_fast_path_subset_of_validator(address: str) -> None:
    if fast_path_valid(address):
        assert validator_accepts(address), address


@settings(max_examples=1000)
@given(st.text(max_size=100))
def test_fast_path_arbitrary_text(text: str) -> None:
    if fast_path_valid(text):
        assert validator_accepts(text)


@pytest.mark.parametrize(
    ("address", "fast", "valid"),
    [
        ("alice@example.org", True, True),
        ("Alice.Martin+news@mail.example.co.uk", True, True),
        ("élodie@exemple.fr", False, True),
        ("alice@exämple.fr", False, True),
        ('"quoted local"@example.org', False, False),
        ("no-at-sign.example.org", False, False),
        ("alice@example", False, False),
        ("alice@@example.org", False, False),
        ("a" * 65 + "@example.org", False, True),
        ("a" * 250 + "@example.org", False, False),
        ("alice@example.invalid", False, False),
    ],
)
def test_syntax_cases(address: str, fast: bool, valid: bool) -> None:
    assert fast_path_valid(address) is fast
    assert is_valid_address(address) is valid
