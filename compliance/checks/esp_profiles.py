"""DNS records that each email service provider (ESP) requires of its senders.

A profile lists the SPF include the ESP needs at the From domain, the
includes it no longer needs, its DKIM selectors and the records it
requires. Each record has a name relative to the sending domain and a
pattern for its value. Names may contain ``{value}`` placeholders for account-specific
values (a DKIM token, a return-path host) that the sender gives with the
check. Each profile cites the page it rests on. ``NOTE`` marks a pattern
that could not be confirmed on the ESP's own page.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass


class RecordPurpose(enum.StrEnum):
    """Purpose of a record that an ESP requires."""

    DKIM = "dkim"
    RETURN_PATH = "return_path"
    VERIFICATION = "verification"
    SPF = "spf"
    INBOUND_MX = "inbound_mx"


@dataclass(frozen=True)
class ExpectedRecord:
    """A record that an ESP requires.

    ``name`` is relative to the sending domain (``@`` is the domain itself)
    and may contain ``{value}`` placeholders filled from the account values.
    ``value_pattern`` is a regular expression matched against the CNAME
    target, the MX exchange or the TXT text, lowercase and without a final dot.
    ``optional`` records are reported when missing but do not block.
    """

    purpose: RecordPurpose
    rdtype: str
    name: str
    value_pattern: str
    optional: bool = False

    def placeholders(self) -> tuple[str, ...]:
        """Return the account values that the name and the pattern need."""
        return tuple(re.findall(r"\{(\w+)\}", self.name + self.value_pattern))


@dataclass(frozen=True)
class EspProfile:
    """The DNS expectations of one ESP."""

    key: str
    name: str
    source_url: str
    spf_includes: tuple[str, ...] = ()
    obsolete_spf_includes: tuple[str, ...] = ()
    dkim_selectors: tuple[str, ...] = ()
    records: tuple[ExpectedRecord, ...] = ()
    account_values: tuple[str, ...] = ()
    # Whether the ESP can send with a return path under the sender's domain,
    # which SPF alignment for DMARC needs.
    spf_alignment: bool = False


_BENCHMARK = EspProfile(
    key="benchmark",
    name="Benchmark Email",
    # https://kb.benchmarkemail.com/en/set-email-domain-authentication/
    # Two account-specific DKIM CNAMEs; the page names no SPF include.
    source_url="https://kb.benchmarkemail.com/en/set-email-domain-authentication/",
    account_values=("dkim_selectors",),
    records=(
        # NOTE: the CNAME targets are account-specific and the page shows none;
        # a host under bmsend.com is assumed from its rewritten From addresses.
        ExpectedRecord(RecordPurpose.DKIM, "CNAME", "{selector}._domainkey", r".*\.bmsend\.com"),
    ),
)

_SENDGRID = EspProfile(
    key="sendgrid",
    name="SendGrid",
    # https://www.twilio.com/docs/sendgrid/ui/account-and-settings/how-to-set-up-domain-authentication
    # Automated security gives three CNAMEs: the return-path host and s1, s2.
    source_url=(
        "https://www.twilio.com/docs/sendgrid/ui/account-and-settings/"
        "how-to-set-up-domain-authentication"
    ),
    obsolete_spf_includes=("sendgrid.net",),
    dkim_selectors=("s1", "s2"),
    account_values=("return_path_host",),
    spf_alignment=True,
    records=(
        ExpectedRecord(
            RecordPurpose.RETURN_PATH, "CNAME", "{return_path_host}", r"u\d+\.wl\d*\.sendgrid\.net"
        ),
        ExpectedRecord(
            RecordPurpose.DKIM,
            "CNAME",
            "s1._domainkey",
            r"s1\.domainkey\.u\d+\.wl\d*\.sendgrid\.net",
        ),
        ExpectedRecord(
            RecordPurpose.DKIM,
            "CNAME",
            "s2._domainkey",
            r"s2\.domainkey\.u\d+\.wl\d*\.sendgrid\.net",
        ),
    ),
)

_MAILCHIMP = EspProfile(
    key="mailchimp",
    name="Mailchimp",
    # https://mailchimp.com/help/set-up-email-domain-authentication/
    # Two DKIM CNAMEs; the SPF include servers.mcsv.net is no longer asked for,
    # because the return path stays on Mailchimp's domain.
    source_url="https://mailchimp.com/help/set-up-email-domain-authentication/",
    obsolete_spf_includes=("servers.mcsv.net",),
    dkim_selectors=("k2", "k3"),
    records=(
        ExpectedRecord(RecordPurpose.DKIM, "CNAME", "k2._domainkey", r"dkim2\.mcsv\.net"),
        ExpectedRecord(RecordPurpose.DKIM, "CNAME", "k3._domainkey", r"dkim3\.mcsv\.net"),
    ),
)

_AMAZON_SES = EspProfile(
    key="amazon_ses",
    name="Amazon SES",
    # https://docs.aws.amazon.com/ses/latest/dg/send-email-authentication-dkim-easy.html
    # https://docs.aws.amazon.com/ses/latest/dg/mail-from.html
    # Easy DKIM: three CNAMEs named after account tokens. A custom MAIL FROM
    # domain needs an MX to the regional feedback host and an SPF record.
    source_url="https://docs.aws.amazon.com/ses/latest/dg/send-email-authentication-dkim-easy.html",
    account_values=("dkim_tokens", "mail_from", "region"),
    spf_alignment=True,
    records=(
        ExpectedRecord(
            RecordPurpose.DKIM, "CNAME", "{token}._domainkey", r"{token}\.dkim\.amazonses\.com"
        ),
        ExpectedRecord(
            RecordPurpose.RETURN_PATH,
            "MX",
            "{mail_from}",
            r"feedback-smtp\.{region}\.amazonses\.com",
            optional=True,
        ),
        ExpectedRecord(
            RecordPurpose.SPF,
            "TXT",
            "{mail_from}",
            r"v=spf1 .*include:amazonses\.com.*",
            optional=True,
        ),
    ),
)

_BREVO = EspProfile(
    key="brevo",
    name="Brevo",
    # https://help.brevo.com/hc/en-us/articles/17286219877778
    # A brevo-code TXT record proves ownership; DKIM is delegated by CNAME.
    # The return path stays on Brevo's domain, so no SPF include is needed.
    source_url="https://help.brevo.com/hc/en-us/articles/17286219877778",
    obsolete_spf_includes=("spf.sendinblue.com",),
    dkim_selectors=("brevo1", "brevo2"),
    records=(
        ExpectedRecord(RecordPurpose.VERIFICATION, "TXT", "@", r"brevo-code:[0-9a-f]+"),
        # NOTE: the target form b1.<domain with dashes>.dkim.brevo.com is taken
        # from secondary guides, not from Brevo's page.
        ExpectedRecord(
            RecordPurpose.DKIM, "CNAME", "brevo1._domainkey", r"b1\..*\.dkim\.brevo\.com"
        ),
        ExpectedRecord(
            RecordPurpose.DKIM, "CNAME", "brevo2._domainkey", r"b2\..*\.dkim\.brevo\.com"
        ),
    ),
)

_MAILJET = EspProfile(
    key="mailjet",
    name="Mailjet",
    # https://documentation.mailjet.com/hc/en-us/articles/360042412734
    # NOTE: the include and the selector name come from Mailjet's setup screens
    # as secondary guides show them; the key itself is account-specific.
    source_url="https://documentation.mailjet.com/hc/en-us/articles/360042412734",
    spf_includes=("spf.mailjet.com",),
    dkim_selectors=("mailjet",),
    spf_alignment=True,
)

_MAILGUN = EspProfile(
    key="mailgun",
    name="Mailgun",
    # https://documentation.mailgun.com/docs/mailgun/user-manual/domains/domains-verify
    # NOTE: selectors are chosen per domain (for example pic, k1 or smtp), so
    # the sender gives them; the inbound MX hosts are from secondary guides.
    source_url="https://documentation.mailgun.com/docs/mailgun/user-manual/domains/domains-verify",
    spf_includes=("mailgun.org",),
    account_values=("dkim_selectors",),
    spf_alignment=True,
    records=(
        ExpectedRecord(
            RecordPurpose.INBOUND_MX,
            "MX",
            "@",
            r"mx[ab]\.mailgun\.org|mx[ab]\.eu\.mailgun\.org",
            optional=True,
        ),
    ),
)

_POSTMARK = EspProfile(
    key="postmark",
    name="Postmark",
    # https://postmarkapp.com/support/article/1091-how-do-i-set-up-dkim-for-postmark
    # https://postmarkapp.com/support/article/910-adding-a-custom-return-path-domain
    # DKIM is a TXT record at a dated selector ending in "pm". The custom
    # return path is a CNAME to pm.mtasv.net, so spf.mtasv.net is not needed.
    source_url="https://postmarkapp.com/support/article/1091-how-do-i-set-up-dkim-for-postmark",
    obsolete_spf_includes=("spf.mtasv.net",),
    account_values=("dkim_selectors",),
    spf_alignment=True,
    records=(ExpectedRecord(RecordPurpose.RETURN_PATH, "CNAME", "pm-bounces", r"pm\.mtasv\.net"),),
)

_GOOGLE_WORKSPACE = EspProfile(
    key="google_workspace",
    name="Google Workspace",
    # https://support.google.com/a/answer/10684623 (SPF)
    # https://support.google.com/a/answer/174124 (DKIM, default selector "google")
    source_url="https://support.google.com/a/answer/10684623",
    spf_includes=("_spf.google.com",),
    dkim_selectors=("google",),
    spf_alignment=True,
    records=(
        # NOTE: both the single smtp.google.com host of newer domains and the
        # older aspmx set are accepted.
        ExpectedRecord(
            RecordPurpose.INBOUND_MX,
            "MX",
            "@",
            r"smtp\.google\.com|(alt\d\.)?aspmx(\d)?\.l\.google\.com|aspmx\d\.googlemail\.com",
        ),
    ),
)

PROFILES: Mapping[str, EspProfile] = {
    profile.key: profile
    for profile in (
        _BENCHMARK,
        _SENDGRID,
        _MAILCHIMP,
        _AMAZON_SES,
        _BREVO,
        _MAILJET,
        _MAILGUN,
        _POSTMARK,
        _GOOGLE_WORKSPACE,
    )
}


def find_profile(name: str) -> EspProfile | None:
    """Return the profile whose key or name is ``name`` (any case, ``-`` or space for ``_``)."""
    wanted = re.sub(r"[\s-]+", "_", name.strip().lower())
    for profile in PROFILES.values():
        if wanted in (profile.key, re.sub(r"[\s-]+", "_", profile.name.lower())):
            return profile
    return None
