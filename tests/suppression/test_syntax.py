"""The screening fast path never accepts what email-validator rejects."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from compliance.core.blind_index import normalise_address
from suppression.syntax import fast_normalised, fast_path_valid, is_valid_address

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


@settings(max_examples=2000, suppress_health_check=[HealthCheck.too_slow])
@given(addresses)
@example("Alice@Example.ORG")
@example("a---b@example.com")
def test_fast_normalised_is_the_blind_index_form(address: str) -> None:
    normalised = fast_normalised(address)
    if normalised is not None:
        assert normalised == normalise_address(address)


@pytest.mark.parametrize(
    "address",
    ["a@ab--cd.com", "a@a---b.com", "a@xn--abc.com", "a" * 65 + "@example.org", "a@b.TEST"],
)
def test_fast_path_leaves_reserved_forms_to_the_validator(address: str) -> None:
    assert fast_normalised(address) is None
