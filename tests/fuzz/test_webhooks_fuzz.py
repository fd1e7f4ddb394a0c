"""Fuzz the ESP webhook parsers and the SNS subscription checks with JSON and raw bytes."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from suppression.bounces.webhooks import ses
from tests.fuzz.strategies import (
    MAILGUN_SEED,
    POSTMARK_SEED,
    SNS_CONFIRM_RESPONSE_SEED,
    SNS_SUBSCRIBE_SEED,
    json_documents,
    mutated,
    sendgrid_seeds,
    ses_seeds,
)
from tests.fuzz.targets import (
    FUZZ_SETTINGS,
    SES_TOPIC,
    check_postmark_authorization,
    check_sns_confirm_response,
    check_webhook_mailgun,
    check_webhook_postmark,
    check_webhook_sendgrid,
    check_webhook_ses,
    check_webhook_ses_signature,
    check_webhook_sns_subscribe,
    ses_signing_key,
    sign_sns_envelope,
)

_NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_SIGNED_NOTIFICATION = sign_sns_envelope(
    {
        "Type": "Notification",
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": SES_TOPIC,
        "Subject": "Amazon SES Email Event Notification",
        "Message": json.dumps(ses_seeds()[0]),
        "Timestamp": "2026-01-01T00:00:00.000Z",
    },
    _NOTIFICATION_FIELDS,
)


@settings(FUZZ_SETTINGS)
@given(json_documents(ses_seeds()))
def test_ses_payloads(data: bytes) -> None:
    check_webhook_ses(data)


@settings(FUZZ_SETTINGS)
@given(
    json_documents([{"Type": "Notification", "Message": json.dumps(seed)} for seed in ses_seeds()])
)
def test_sns_wrapped_ses_payloads(data: bytes) -> None:
    check_webhook_ses(data)


@settings(FUZZ_SETTINGS)
@given(json_documents(sendgrid_seeds()))
def test_sendgrid_payloads(data: bytes) -> None:
    check_webhook_sendgrid(data)


@settings(FUZZ_SETTINGS)
@given(json_documents([MAILGUN_SEED]))
def test_mailgun_payloads(data: bytes) -> None:
    check_webhook_mailgun(data)


@settings(FUZZ_SETTINGS)
@given(json_documents([POSTMARK_SEED, [POSTMARK_SEED]]))
def test_postmark_payloads(data: bytes) -> None:
    check_webhook_postmark(data)


@settings(FUZZ_SETTINGS)
@given(
    st.one_of(
        st.binary(max_size=64),
        st.builds(
            lambda scheme, value: scheme + value,
            st.sampled_from([b"Basic ", b"basic ", b"Bearer ", b"Basic", b""]),
            st.one_of(st.binary(max_size=48), st.sampled_from([b"Onl6", b"=", b"YTpi\n"])),
        ),
    )
)
def test_postmark_authorization_header(data: bytes) -> None:
    check_postmark_authorization(data)


@settings(FUZZ_SETTINGS)
@given(json_documents([SNS_SUBSCRIBE_SEED]))
def test_sns_subscribe_url(data: bytes) -> None:
    check_webhook_sns_subscribe(data)


@settings(FUZZ_SETTINGS)
@given(st.one_of(mutated([SNS_CONFIRM_RESPONSE_SEED]), st.binary(max_size=256)))
def test_sns_confirm_response(data: bytes) -> None:
    check_sns_confirm_response(data)


@settings(FUZZ_SETTINGS)
@given(json_documents([_SIGNED_NOTIFICATION]))
def test_sns_signature(data: bytes) -> None:
    check_webhook_ses_signature(data)


def test_sns_signature_seed_verifies() -> None:
    # The mutations start from an envelope that passes, so they probe every check.
    _key, certificate = ses_signing_key()

    ses.verify(_SIGNED_NOTIFICATION, frozenset({SES_TOPIC}), fetch=lambda _url: certificate)
