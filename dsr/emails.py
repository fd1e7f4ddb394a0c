"""Emails to the subject of a request: identity code, extension, refusal, export, completion.

They are service messages the law requires (GDPR Art. 12), not marketing:
they carry no unsubscribe link and go to the address given in the request,
known to the sender or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

from jinja2 import Environment

from compliance.core.i18n import N_, gettext_context, translate
from compliance.core.mail import new_message, recipient, sender_address
from compliance.core.models import Sender

# The action requested, worded to end the sentence "to ..." of the code email.
REQUEST_ACTIONS = {
    "access": N_("send you a copy of the data it holds on you"),
    "portability": N_("send you your data in a machine-readable file"),
    "rectification": N_("correct the data it holds on you"),
    "erasure": N_("erase the data it holds on you"),
    "objection": N_("stop sending you marketing email"),
    "restriction": N_("restrict the use of your data"),
}

# Grounds for refusing a request (Art. 12(5), Art. 17(3), Art. 21(1)).
REJECTION_GROUNDS = {
    "identity_not_verified": N_("We could not confirm that the request came from you."),
    "manifestly_unfounded": N_("The request is manifestly unfounded."),
    "excessive": N_("The request is excessive, in particular because it repeats an earlier one."),
    "legal_obligation": N_("A legal obligation requires us to keep the data."),
    "legal_claims": N_("We need the data to establish, exercise or defend legal claims."),
    "no_data": N_("We hold no data that the request could apply to."),
    "other": N_("Our data protection officer will explain the reason if you ask."),
}


@dataclass(frozen=True)
class Notice:
    subject: str
    paragraphs: list[str]
    code: str | None = None
    link: str | None = None
    link_label: str | None = None


def render_notice(
    jinja: Environment,
    sender: Sender,
    mail_from: str,
    to_address: str,
    lang: str,
    notice: Notice,
) -> EmailMessage:
    to = recipient(to_address)
    message = new_message(to)
    message["From"] = sender_address(sender.name, mail_from)
    message["To"] = to.header
    message["Subject"] = notice.subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Auto-Submitted"] = "auto-generated"
    context = {
        "sender": sender,
        "lang": lang,
        "paragraphs": notice.paragraphs,
        "code": notice.code,
        "link": notice.link,
        "link_label": notice.link_label,
        **gettext_context(lang),
    }
    message.set_content(jinja.get_template("email/dsr_notice.txt").render(context), cte="8bit")
    message.add_alternative(
        jinja.get_template("email/dsr_notice.html").render(context), subtype="html"
    )
    return message


def code_notice(
    lang: str, sender: Sender, request_type: str, code: str, ttl_minutes: int
) -> Notice:
    action = translate(lang, REQUEST_ACTIONS[request_type])
    return Notice(
        subject=translate(lang, N_("Your code for your request to %(sender)s"), sender=sender.name),
        paragraphs=[
            translate(
                lang,
                N_("Someone asked %(sender)s, giving this address, to %(action)s."),
                sender=sender.name,
                action=action,
            ),
            translate(
                lang,
                N_("If it was you, enter this code; it is valid for %(minutes)s minutes:"),
                minutes=ttl_minutes,
            ),
        ],
        code=code,
    )


def extension_notice(lang: str, sender: Sender, due_date: str, reason: str) -> Notice:
    return Notice(
        subject=translate(
            lang, N_("Your request to %(sender)s: more time needed"), sender=sender.name
        ),
        paragraphs=[
            translate(
                lang,
                N_("We need more time to answer your request. We will answer by %(date)s."),
                date=due_date,
            ),
            translate(lang, N_("The reason: %(reason)s"), reason=reason),
        ],
    )


def rejection_notice(lang: str, sender: Sender, ground: str) -> Notice:
    return Notice(
        subject=translate(lang, N_("Your request to %(sender)s"), sender=sender.name),
        paragraphs=[
            translate(lang, N_("We cannot carry out your request.")),
            translate(lang, REJECTION_GROUNDS[ground]),
            # GDPR Art. 12(4): the subject must learn of these two remedies.
            translate(
                lang,
                N_(
                    "You may lodge a complaint with a data protection authority (in France, "
                    "the CNIL) and seek a judicial remedy."
                ),
            ),
        ],
    )


def export_notice(lang: str, sender: Sender, link: str, expires: str) -> Notice:
    return Notice(
        subject=translate(lang, N_("Your data held by %(sender)s"), sender=sender.name),
        paragraphs=[
            translate(
                lang,
                N_("The copy of your data is ready. Download it before %(date)s:"),
                date=expires,
            ),
        ],
        link=link,
        link_label=translate(lang, N_("Download my data")),
    )


def completion_notice(lang: str, sender: Sender, request_type: str) -> Notice:
    action = translate(lang, REQUEST_ACTIONS[request_type])
    return Notice(
        subject=translate(lang, N_("Your request to %(sender)s is complete"), sender=sender.name),
        paragraphs=[
            translate(
                lang,
                N_("You asked %(sender)s to %(action)s. This is done."),
                sender=sender.name,
                action=action,
            )
        ],
    )
