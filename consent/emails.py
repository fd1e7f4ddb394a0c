"""The emails the consent flow sends: confirmation, reminder and welcome.

Each carries an unsubscribe link in its body and the RFC 8058 headers, and a
link to the subscriber's consent receipt; all go through the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

from jinja2 import Environment

from compliance.core.i18n import N_, gettext_context, translate
from compliance.core.mail import new_message, recipient, sender_address
from compliance.core.models import Sender


@dataclass(frozen=True)
class Links:
    # The email's main link: confirm (/c), or preferences (/p) once confirmed.
    action: str
    unsubscribe: str
    receipt: str


def _base_message(
    sender: Sender, mail_from: str, to_address: str, subject: str, links: Links
) -> EmailMessage:
    to = recipient(to_address)
    message = new_message(to)
    # EmailMessage rejects CR and LF in header values, so a sender name or
    # subject cannot inject headers.
    message["From"] = sender_address(sender.name, mail_from)
    message["To"] = to.header
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Auto-Submitted"] = "auto-generated"
    # RFC 8058: an https URI in List-Unsubscribe and the one-click marker.
    message["List-Unsubscribe"] = f"<{links.unsubscribe}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return message


def _render_parts(
    message: EmailMessage, jinja: Environment, name: str, lang: str, values: dict[str, object]
) -> None:
    context = {**values, **gettext_context(lang)}
    # 8bit keeps each link on one line of the text part, readable in a raw .eml file.
    message.set_content(jinja.get_template(f"email/{name}.txt").render(context), cte="8bit")
    message.add_alternative(
        jinja.get_template(f"email/{name}.html").render(context), subtype="html"
    )


def validity(lang: str, ttl_hours: int) -> str:
    """How long a confirmation link stays valid, in days when it is a whole number of days."""
    if ttl_hours % 24 == 0:
        return translate(lang, N_("The link is valid for %(days)s days."), days=ttl_hours // 24)
    return translate(lang, N_("The link is valid for %(hours)s hours."), hours=ttl_hours)


def confirmation_email(
    jinja: Environment,
    sender: Sender,
    mail_from: str,
    to_address: str,
    lang: str,
    links: Links,
    ttl_hours: int,
    *,
    reminder: bool = False,
) -> EmailMessage:
    """The double opt-in email, or its one reminder before the link expires."""
    if reminder:
        subject = translate(
            lang, N_("Reminder: confirm your subscription to %(sender)s"), sender=sender.name
        )
    else:
        subject = translate(lang, N_("Confirm your subscription to %(sender)s"), sender=sender.name)
    message = _base_message(sender, mail_from, to_address, subject, links)
    _render_parts(
        message,
        jinja,
        "confirm",
        lang,
        {
            "sender": sender,
            "links": links,
            "validity": validity(lang, ttl_hours),
            "reminder": reminder,
        },
    )
    return message


def welcome_email(
    jinja: Environment,
    sender: Sender,
    mail_from: str,
    to_address: str,
    lang: str,
    links: Links,
) -> EmailMessage:
    subject = translate(
        lang, N_("Your subscription to %(sender)s is confirmed"), sender=sender.name
    )
    message = _base_message(sender, mail_from, to_address, subject, links)
    _render_parts(message, jinja, "welcome", lang, {"sender": sender, "links": links})
    return message
