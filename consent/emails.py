"""The emails the consent flow sends: double opt-in confirmation and welcome."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate

from jinja2 import Environment

from compliance.core.i18n import N_, gettext_context, translate
from compliance.core.mail import new_message, recipient, sender_address
from compliance.core.models import Sender


def _base_message(sender: Sender, mail_from: str, to_address: str, subject: str) -> EmailMessage:
    to = recipient(to_address)
    message = new_message(to)
    # EmailMessage rejects CR and LF in header values, so a sender name or
    # subject cannot inject headers.
    message["From"] = sender_address(sender.name, mail_from)
    message["To"] = to.header
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Auto-Submitted"] = "auto-generated"
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


def confirmation_email(
    jinja: Environment,
    sender: Sender,
    mail_from: str,
    to_address: str,
    lang: str,
    confirm_url: str,
    ttl_hours: int,
) -> EmailMessage:
    subject = translate(lang, N_("Confirm your subscription to %(sender)s"), sender=sender.name)
    message = _base_message(sender, mail_from, to_address, subject)
    _render_parts(
        message,
        jinja,
        "confirm",
        lang,
        {"sender": sender, "confirm_url": confirm_url, "ttl_hours": ttl_hours},
    )
    return message


def welcome_email(
    jinja: Environment,
    sender: Sender,
    mail_from: str,
    to_address: str,
    lang: str,
    preferences_url: str,
    unsubscribe_url: str,
) -> EmailMessage:
    subject = translate(
        lang, N_("Your subscription to %(sender)s is confirmed"), sender=sender.name
    )
    message = _base_message(sender, mail_from, to_address, subject)
    # RFC 8058: an https URI in List-Unsubscribe and the one-click marker.
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    _render_parts(
        message,
        jinja,
        "welcome",
        lang,
        {"sender": sender, "preferences_url": preferences_url, "unsubscribe_url": unsubscribe_url},
    )
    return message
