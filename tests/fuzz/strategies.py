"""Input generators for the parser fuzz tests: raw bytes, seed mutations and small grammars.

Seeds come from tests/data and, when it is present, from the shared corpus
(``SENDGUARD_CORPUS_DIR``, else ``../shared/corpus`` beside the repository).
The corpus files are read in place and never copied. Without the corpus the
mutation strategies start from the hand-written seeds in this module, so the
tests still run but draw other inputs.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_DATA = REPO_ROOT / "tests" / "data"

# Seeds are cut to this many bytes, so one example stays fast to parse.
MAX_SEED_BYTES = 8192


def corpus_dir() -> Path | None:
    configured = os.environ.get("SENDGUARD_CORPUS_DIR")
    corpus = Path(configured) if configured else REPO_ROOT.parent / "shared" / "corpus"
    return corpus if (corpus / "README.md").is_file() else None


def _read_seeds(paths: list[Path]) -> list[bytes]:
    return [path.read_bytes()[:MAX_SEED_BYTES] for path in sorted(paths) if path.is_file()]


def _corpus_files(folder: str, pattern: str) -> list[Path]:
    corpus = corpus_dir()
    return list((corpus / folder).glob(pattern)) if corpus is not None else []


# Hand-written seeds, used whether or not the corpus is present.

DSN_SEED = (
    b"From: MAILER-DAEMON@mx.example.net\r\n"
    b"To: bounces@example.com\r\n"
    b"Subject: Undelivered Mail Returned to Sender\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n'
    b"\r\n"
    b"--b1\r\n"
    b"Content-Type: text/plain\r\n\r\n"
    b"The mail system could not deliver your message.\r\n"
    b"--b1\r\n"
    b"Content-Type: message/delivery-status\r\n\r\n"
    b"Reporting-MTA: dns; mx.example.net\r\n\r\n"
    b"Final-Recipient: rfc822; user@example.org\r\n"
    b"Action: failed\r\n"
    b"Status: 5.1.1\r\n"
    b"Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
    b"--b1\r\n"
    b"Content-Type: text/rfc822-headers\r\n\r\n"
    b"Message-ID: <m1@example.com>\r\n"
    b"X-Sendguard-Campaign: c1\r\n"
    b"--b1--\r\n"
)

ARF_SEED = (
    b"From: feedback@example.net\r\n"
    b"To: abuse@example.com\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/report; report-type=feedback-report; boundary="f1"\r\n'
    b"\r\n"
    b"--f1\r\n"
    b"Content-Type: text/plain\r\n\r\n"
    b"This is an abuse report.\r\n"
    b"--f1\r\n"
    b"Content-Type: message/feedback-report\r\n\r\n"
    b"Feedback-Type: abuse\r\n"
    b"User-Agent: fuzz/1.0\r\n"
    b"Version: 1\r\n"
    b"Original-Rcpt-To: user@example.org\r\n"
    b"--f1\r\n"
    b"Content-Type: message/rfc822\r\n\r\n"
    b"From: news@example.com\r\n"
    b"To: user@example.org\r\n"
    b"Message-ID: <m2@example.com>\r\n\r\n"
    b"Hello\r\n"
    b"--f1--\r\n"
)

SES_BOUNCE_SEED: dict[str, Any] = {
    "notificationType": "Bounce",
    "bounce": {
        "bounceType": "Permanent",
        "bounceSubType": "General",
        "bouncedRecipients": [
            {
                "emailAddress": "user@example.org",
                "status": "5.1.1",
                "diagnosticCode": "smtp; 550 5.1.1 user unknown",
            }
        ],
        "timestamp": "2026-01-01T00:00:00.000Z",
        "feedbackId": "0100-abc",
    },
    "mail": {
        "messageId": "m3",
        "tags": {"sendguard_campaign": ["c1"]},
        "headers": [{"name": "X-Sendguard-Campaign", "value": "c1"}],
    },
}

SES_COMPLAINT_SEED: dict[str, Any] = {
    "notificationType": "Complaint",
    "complaint": {
        "complainedRecipients": [{"emailAddress": "user@example.org"}],
        "complaintFeedbackType": "abuse",
        "timestamp": "2026-01-01T00:00:00Z",
        "feedbackId": "0100-def",
    },
    "mail": {"messageId": "m4"},
}

SES_DELIVERY_SEED: dict[str, Any] = {
    "eventType": "Delivery",
    "delivery": {"recipients": ["user@example.org"], "timestamp": "2026-01-01T00:00:00Z"},
    "mail": {"messageId": "m5"},
}

SNS_SUBSCRIBE_SEED: dict[str, Any] = {
    "Type": "SubscriptionConfirmation",
    "TopicArn": "arn:aws:sns:us-east-1:123456789012:bounces",
    "Token": "t0k3n",
    "SubscribeURL": (
        "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription"
        "&TopicArn=arn:aws:sns:us-east-1:123456789012:bounces&Token=t0k3n"
    ),
}

SNS_CONFIRM_RESPONSE_SEED = (
    b'<ConfirmSubscriptionResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
    b"<ConfirmSubscriptionResult><SubscriptionArn>"
    b"arn:aws:sns:us-east-1:123456789012:bounces:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55"
    b"</SubscriptionArn></ConfirmSubscriptionResult></ConfirmSubscriptionResponse>"
)

SENDGRID_SEED: list[dict[str, Any]] = [
    {
        "email": "user@example.org",
        "event": "bounce",
        "type": "bounce",
        "status": "5.1.1",
        "reason": "550 5.1.1 user unknown",
        "timestamp": 1767225600,
        "sg_event_id": "e1",
        "sendguard_campaign": "c1",
    },
    {"email": "user@example.org", "event": "spamreport", "timestamp": 1767225600},
    {"email": "user@example.org", "event": "unsubscribe", "timestamp": "x"},
]

MAILGUN_SEED: dict[str, Any] = {
    "signature": {"timestamp": "1767225600", "token": "tok", "signature": "00" * 32},
    "event-data": {
        "event": "failed",
        "severity": "permanent",
        "recipient": "user@example.org",
        "timestamp": 1767225600.5,
        "id": "ev1",
        "delivery-status": {"code": 550, "message": "5.1.1 user unknown", "description": ""},
        "message": {"headers": {"message-id": "m6@example.com"}},
        "user-variables": {"sendguard_campaign": "c1"},
    },
}

POSTMARK_SEED: dict[str, Any] = {
    "RecordType": "Bounce",
    "Type": "HardBounce",
    "TypeCode": 1,
    "ID": 42,
    "Email": "user@example.org",
    "MessageID": "m7",
    "Details": "smtp;550 5.1.1 user unknown",
    "BouncedAt": "2026-01-01T00:00:00Z",
    "Metadata": {"sendguard_campaign": "c1"},
}


@cache
def bounce_seeds() -> list[bytes]:
    return [DSN_SEED, ARF_SEED, *_read_seeds(_corpus_files("bounces/mail", "*.eml"))]


@cache
def message_seeds() -> list[bytes]:
    return _read_seeds(list((TEST_DATA / "messages").glob("*.eml")))


@cache
def ses_seeds() -> list[Any]:
    found: list[Any] = [SES_BOUNCE_SEED, SES_COMPLAINT_SEED, SES_DELIVERY_SEED]
    sns_wrapped = {"Type": "Notification", "Message": json.dumps(SES_BOUNCE_SEED)}
    found.append(sns_wrapped)
    for path in sorted(
        _corpus_files("webhooks/ses", "*.json") + _corpus_files("webhooks/sisimai-json", "*ses*")
    ):
        found.append(json.loads(path.read_bytes()))
    return found


@cache
def sendgrid_seeds() -> list[Any]:
    found: list[Any] = [SENDGRID_SEED]
    for path in sorted(
        _corpus_files("webhooks/sendgrid", "*.json")
        + _corpus_files("webhooks/sisimai-json", "*sendgrid*")
    ):
        found.append(json.loads(path.read_bytes()))
    return found


@cache
def export_seeds() -> list[bytes]:
    return _read_seeds(
        [path for path in _corpus_files("exports", "*/*") if path.suffix != ".md"]
    ) or [
        b"email,created\nuser@example.org,1709618401\n",
        b'[{"email": "user@example.org", "created": 1709618401}]',
    ]


@cache
def footer_seeds() -> list[str]:
    corpus = corpus_dir()
    texts = [
        "Example Inc, 123 Main Street, Springfield, IL 62701, USA",
        "Exemple SAS, 12 rue de la Paix, 75002 Paris, France",
        "PO Box 1234, Toronto ON M5V 2T6, Canada",
        "*|HTML:LIST_ADDRESS_HTML|*",
    ]
    if corpus is not None:
        for line in (corpus / "footers.jsonl").read_text(encoding="utf-8").splitlines():
            texts.append(json.loads(line)["text"])
    return texts


@cache
def zone_seeds() -> list[bytes]:
    return _read_seeds(list((TEST_DATA / "zones").glob("*.zone")))


# Mutations of seeds.


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes], max_steps: int = 6) -> bytes:
    """A seed changed by a few byte-level edits: deletions, insertions, repeats and splices."""
    data = bytearray(draw(st.sampled_from(seeds)))
    steps = draw(st.integers(min_value=0, max_value=max_steps))
    for _ in range(steps):
        operation = draw(st.sampled_from(["delete", "insert", "replace", "repeat", "splice"]))
        start = draw(st.integers(min_value=0, max_value=len(data)))
        end = draw(st.integers(min_value=start, max_value=min(len(data), start + 64)))
        if operation == "delete":
            del data[start:end]
        elif operation == "insert":
            data[start:start] = draw(interesting_bytes())
        elif operation == "replace":
            data[start:end] = draw(interesting_bytes())
        elif operation == "repeat":
            count = draw(st.integers(min_value=2, max_value=40))
            data[start:start] = bytes(data[start:end]) * count
        else:
            other = draw(st.sampled_from(seeds))
            cut = draw(st.integers(min_value=0, max_value=len(other)))
            data[start:] = other[cut:]
    return bytes(data[: 4 * MAX_SEED_BYTES])


def interesting_bytes() -> st.SearchStrategy[bytes]:
    """Short byte strings that parsers tend to treat specially."""
    tokens = [
        b"\r\n",
        b"\n\n",
        b"\r\n\r\n",
        b"\x00",
        b"\xff\xfe",
        b"\xef\xbb\xbf",
        b"\xc3",
        b"=?utf-8?b?",
        b"=?",
        b"?=",
        b"--",
        b'"',
        b"\\",
        b";",
        b":",
        b",",
        b"=",
        b"@",
        b"<",
        b">",
        b"{",
        b"}",
        b"[",
        b"]",
        b"%",
        b"/",
        b" ",
        b"\t",
        b"Content-Type: multipart/mixed; boundary=x\r\n",
        b"Content-Type: message/rfc822\r\n\r\n",
        b"Content-Transfer-Encoding: base64\r\n",
        b"Content-Transfer-Encoding: quoted-printable\r\n",
        b"charset=unknown-8bit",
        b"Status: 5.1.1\r\n",
        b"Final-Recipient: rfc822;",
        b"Action: failed\r\n",
        b"Feedback-Type: abuse\r\n",
        b"9" * 40,
        b"-1",
        b"1e999",
        b"null",
    ]
    return st.one_of(st.sampled_from(tokens), st.binary(min_size=1, max_size=16))


# JSON payloads.

_JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["", "user@example.org", "Permanent", "Bounce", "failed", "5.1.1"]),
    # A lone surrogate (valid as a JSON escape, not encodable as UTF-8), a
    # malformed URL host, non-ASCII text and a NUL character.
    st.sampled_from(["\ud800", "https://[", "https://sns.us-east-1.amazonaws.com:0/", "é", "\x00"]),
)

json_values = st.recursive(
    _JSON_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=12), children, max_size=4),
    ),
    max_leaves=20,
)


@st.composite
def mutated_json(draw: st.DrawFn, seeds: list[Any]) -> Any:
    """A seed document with a few values replaced by values of any JSON type."""
    document = json.loads(json.dumps(draw(st.sampled_from(seeds))))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        document = _replace_somewhere(draw, document, depth=0)
    return document


def _replace_somewhere(draw: st.DrawFn, value: Any, depth: int) -> Any:
    # Walk down one random path and replace the value found there.
    if depth > 8 or draw(st.integers(min_value=0, max_value=3)) == 0:
        return draw(json_values)
    if isinstance(value, dict) and value:
        key = draw(st.sampled_from(sorted(value)))
        value[key] = _replace_somewhere(draw, value[key], depth + 1)
        return value
    if isinstance(value, list) and value:
        index = draw(st.integers(min_value=0, max_value=len(value) - 1))
        value[index] = _replace_somewhere(draw, value[index], depth + 1)
        return value
    return draw(json_values)


def json_documents(seeds: list[Any]) -> st.SearchStrategy[bytes]:
    """JSON bytes: seed mutations, any JSON value, or the seeds' bytes damaged."""
    seed_bytes = [json.dumps(seed).encode("utf-8") for seed in seeds]
    return st.one_of(
        mutated_json(seeds).map(lambda value: json.dumps(value).encode("utf-8")),
        json_values.map(lambda value: json.dumps(value).encode("utf-8")),
        mutated(seed_bytes),
        st.binary(max_size=256),
        # Arrays nested deeper than the recursion limit of the json module.
        st.integers(min_value=1, max_value=5000).map(lambda depth: b"[" * depth + b"]" * depth),
    )


# Small grammars for DNS records.

_DOMAIN_LABELS = st.sampled_from(
    ["example", "org", "_spf", "mail", "a-b", "123", "xn--bcher-kva", "", "-x", "%{d}", "%{i}"]
)
_DOMAINS = st.lists(_DOMAIN_LABELS, min_size=1, max_size=5).map(".".join)
_MACROS = st.sampled_from(
    ["%{s}", "%{l}", "%{o}", "%{d4r}", "%{ir}", "%{v}", "%{h}", "%{c}", "%{p-}", "%%", "%_", "%-"]
)
_CIDRS = st.sampled_from(["", "/0", "/24", "/32", "/33", "/024", "//64", "/24//128", "/", "//"])


@st.composite
def spf_terms(draw: st.DrawFn) -> str:
    qualifier = draw(st.sampled_from(["", "+", "-", "~", "?", "!"]))
    kind = draw(
        st.sampled_from(
            ["all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists", "redirect", "exp", "x"]
        )
    )
    if kind in ("redirect", "exp"):
        return f"{qualifier}{kind}={draw(_DOMAINS)}{draw(_MACROS)}"
    if kind == "x":
        return draw(st.text(alphabet="abcxyz=:/%{}.-_", min_size=1, max_size=12))
    if kind == "ip4":
        octets = draw(st.lists(st.integers(min_value=0, max_value=999), min_size=3, max_size=5))
        return f"{qualifier}ip4:{'.'.join(map(str, octets))}{draw(_CIDRS)}"
    if kind == "ip6":
        groups = draw(st.lists(st.sampled_from(["2001", "db8", "", "0", "ffff"]), max_size=9))
        return f"{qualifier}ip6:{':'.join(groups)}{draw(_CIDRS)}"
    argument = draw(st.one_of(st.just(""), _DOMAINS.map(lambda domain: ":" + domain)))
    return f"{qualifier}{kind}{argument}{draw(_CIDRS)}"


spf_records = st.builds(
    lambda version, terms, spaces: version + spaces.join(terms),
    st.sampled_from(["v=spf1 ", "V=SPF1 ", "v=spf1", "v=spf10 ", "v=spf1  "]),
    st.lists(spf_terms(), max_size=12),
    st.sampled_from([" ", "  ", "\t", " \x00"]),
)

_DMARC_TAGS = st.sampled_from(
    ["p", "sp", "rua", "ruf", "pct", "adkim", "aspf", "fo", "rf", "ri", "np", "x", "P", "1p"]
)
_DMARC_VALUES = st.one_of(
    st.sampled_from(
        ["none", "quarantine", "reject", "r", "s", "0", "100", "101", "-1", "mailto:a@example.org"]
    ),
    st.text(max_size=12),
)
dmarc_records = st.builds(
    lambda version, pairs, separator: (
        version + separator.join(f"{tag}{equals}{value}" for tag, equals, value in pairs)
    ),
    st.sampled_from(["v=DMARC1; ", "v = DMARC1;", "V=DMARC1;", "v=dmarc1;", "v=DMARC1"]),
    st.lists(st.tuples(_DMARC_TAGS, st.sampled_from(["=", " = ", "", "=="]), _DMARC_VALUES)),
    st.sampled_from([";", "; ", ";;", " ;\t"]),
)

_ZONE_RECORDS = st.sampled_from(
    [
        'TXT "v=spf1 -all"',
        'TXT "a" "b"',
        "TXT",
        "A 192.0.2.1",
        "A 999.0.2.1",
        "AAAA 2001:db8::1",
        "MX 10 mail",
        "MX mail",
        "CNAME loop",
        "CNAME @",
        "CNAME example.net.",
        "NS ns1",
        "PTR host",
        "SOA ns1 admin 1 2 3 4 5",
        "TYPE65534 \\# 1 00",
        "CAA 0 issue ca.example.net",
    ]
)
_ZONE_OWNERS = st.sampled_from(
    ["@", "loop", "mail", "_dmarc", "sel._domainkey", "*", "a.b.c", "x" * 70, "", "..", "\\046"]
)
_ZONE_DIRECTIVES = st.sampled_from(
    [
        "$ORIGIN example.org.",
        "$ORIGIN sub",
        "$TTL 300",
        "$TTL -1",
        "$INCLUDE /dev/null",
        "$GENERATE 1-3 host$ A 192.0.2.$",
        "(",
        ")",
        "; comment",
    ]
)

zone_texts = st.lists(
    st.one_of(
        st.builds(
            lambda owner, ttl, record: f"{owner} {ttl}{record}",
            _ZONE_OWNERS,
            st.sampled_from(["", "60 ", "IN ", "60 IN ", "CH "]),
            _ZONE_RECORDS,
        ),
        _ZONE_DIRECTIVES,
    ),
    max_size=12,
).map("\n".join)
