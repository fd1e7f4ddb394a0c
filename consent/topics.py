"""Topics a sender mails about, and which of them the public form may offer."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from compliance.core.errors import Conflict, InvalidInput, NotFound, safe_id
from compliance.core.i18n import N_
from compliance.core.models import utcnow
from consent.models import Topic

TOPIC_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")

# A sender that has declared no topic offers this one, with this wording,
# so that a form works before any set-up.
DEFAULT_TOPIC = Topic(
    sender_id="",
    key="newsletter",
    name_en="Newsletter",
    name_fr="Lettre d'information",
    wording_en="I agree to receive the newsletter by email.",
    wording_fr="J'accepte de recevoir la lettre d'information par e-mail.",
    wording_version="1",
    public=True,
)


@dataclass(frozen=True)
class TopicInput:
    key: str
    name_en: str
    name_fr: str
    wording_en: str
    wording_fr: str
    wording_version: str
    public: bool


def declared_topics(session: Session, sender_id: str) -> list[Topic]:
    """The sender's live topics, or the default topic when it declared none."""
    rows = list(
        session.exec(
            select(Topic)
            .where(Topic.sender_id == sender_id, col(Topic.archived_at).is_(None))
            .order_by(col(Topic.key))
        ).all()
    )
    if rows:
        return rows
    any_declared = session.exec(select(Topic.id).where(Topic.sender_id == sender_id)).first()
    return [] if any_declared else [DEFAULT_TOPIC]


def check_public_topics(session: Session, sender_id: str, keys: Sequence[str]) -> None:
    """Refuse a sign-up for a topic the public form does not offer.

    A private topic (a customers-only list, say) posted to the public form
    must not subscribe anyone; the error names the topic id, which the
    caller sent and which is not personal data.

    :raises InvalidInput: naming the first topic that is unknown or private.
    """
    public = {topic.key for topic in declared_topics(session, sender_id) if topic.public}
    for key in keys:
        if key not in public:
            raise InvalidInput(
                "topics",
                N_(
                    "topics: %(topic)s is not a public topic of this form; use one of"
                    " %(public)s, or declare it with POST /v1/topics."
                ),
                topic=safe_id(key),
                public=", ".join(sorted(public)) or "-",
            )


def get_topic(session: Session, sender_id: str, key: str) -> Topic:
    row = session.exec(select(Topic).where(Topic.sender_id == sender_id, Topic.key == key)).first()
    if row is None:
        raise NotFound(N_("Topic %(topic)s not found."), topic=safe_id(key))
    return row


def create_topic(session: Session, sender_id: str, data: TopicInput) -> Topic:
    """Declare a topic; the first one also declares the default ``newsletter`` topic.

    Forms published before any topic existed offer ``newsletter``; keeping
    it as a declared topic lets them go on working (archive it with
    DELETE /v1/topics/newsletter when it is no longer wanted).
    """
    any_declared = session.exec(select(Topic.id).where(Topic.sender_id == sender_id)).first()
    if any_declared is None and data.key != DEFAULT_TOPIC.key:
        default = DEFAULT_TOPIC.model_dump(exclude={"id", "sender_id", "created_at"})
        session.add(Topic(sender_id=sender_id, **default))
        session.flush()
    existing = session.exec(
        select(Topic.id).where(Topic.sender_id == sender_id, Topic.key == data.key)
    ).first()
    if existing is not None:
        raise Conflict(
            N_("Topic %(topic)s already exists; change it with PATCH /v1/topics/%(topic)s."),
            topic=data.key,
        )
    row = Topic(sender_id=sender_id, **data.__dict__)
    session.add(row)
    session.flush()
    return row


def update_topic(session: Session, row: Topic, changes: dict[str, object]) -> Topic:
    """Apply changes; a new wording needs a new version, so the ledger can tell them apart."""
    wording_changed = any(
        name in changes and changes[name] != getattr(row, name)
        for name in ("wording_en", "wording_fr")
    )
    if wording_changed and changes.get("wording_version", row.wording_version) == (
        row.wording_version
    ):
        raise InvalidInput(
            "wording_version",
            N_(
                "wording_version: the wording changed, so give it a new version"
                " (the current one is %(version)s)."
            ),
            version=row.wording_version,
        )
    for name, value in changes.items():
        setattr(row, name, value)
    session.add(row)
    session.flush()
    return row


def archive_topic(session: Session, row: Topic) -> None:
    # Kept, not deleted: consent records name the topic and must stay readable.
    row.archived_at = utcnow()
    session.add(row)
    session.flush()
