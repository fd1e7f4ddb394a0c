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


# The emails that carry one link for the subscriber: (subject, intro,
# button, note) msgids for each kind.
LINK_EMAILS: dict[str, tuple[str, str, str, str]] = {
    "preferences": (
        N_("Your link to manage your subscription to %(sender)s"),
        N_("Someone, probably you, asked for a link to manage your subscription to %(sender)s."),
        N_("Manage my preferences"),
        N_("If you did not ask for this, ignore this email: nothing has changed."),
    ),
    "address_change": (
        N_("Confirm your new address for %(sender)s"),
        N_(
            "Someone, probably you, asked %(sender)s to send its emails to this address"
            " from now on."
        ),
        N_("Confirm this address"),
        N_(
            "Until you confirm, nothing is sent to this address. If you did not ask for"
            " this, ignore this email."
        ),
    ),
    "download": (
        N_("Your data held by %(sender)s"),
        N_("Someone, probably you, asked to download the data %(sender)s holds about you."),
        N_("Download my data"),
        N_(
            "The link works for 30 minutes. If you did not ask for this, ignore this"
            " email: nothing has changed."
        ),
    ),
    "erase": (
        N_("Confirm the erasure of your data held by %(sender)s"),
        N_("Someone, probably you, asked %(sender)s to erase all the data it holds about you."),
        N_("Review and confirm the erasure"),
        N_(
            "The link works for 30 minutes. Nothing is erased until you confirm on the"
            " page. If you did not ask for this, ignore this email."
        ),
    ),
}


def link_email(
    jinja: Environment,
    sender: Sender,
    mail_from: str,
    to_address: str,
    lang: str,
    links: Links,
    kind: str,
) -> EmailMessage:
    """One of the single-link emails of ``LINK_EMAILS``: magic link, new address, self-service."""
    subject_id, intro_id, button_id, note_id = LINK_EMAILS[kind]
    subject = translate(lang, subject_id, sender=sender.name)
    message = _base_message(sender, mail_from, to_address, subject, links)
    _render_parts(
        message,
        jinja,
        "link",
        lang,
        {
            "sender": sender,
            "links": links,
            "intro": translate(lang, intro_id, sender=sender.name),
            "button": translate(lang, button_id),
            "note": translate(lang, note_id),
        },
    )
    return message
