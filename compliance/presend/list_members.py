"""The addresses of a sender's mailing-list members, decrypted batch by batch for screening."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import structlog
from sqlmodel import Session, col, select

from compliance.core.keystore import KeyStore, decrypt_field
from consent.models import Contact
from suppression.lists import get_list
from suppression.models import ListMembership, MembershipStatus
from suppression.screening import LOOKUP_CHUNK

log = structlog.get_logger(__name__)


class MemberAddresses:
    """Iterate over the addresses of the subscribed members of ``list_ids``, each contact once.

    Members are read in pages of ``page_size`` contact ids, in id order, so
    memory does not grow with the size of the lists. A member whose data
    key or encrypted address is gone (an erased contact) is skipped and
    counted in ``unreadable``.

    :raises NotFound: at construction, for a list that is not the sender's or was deleted.
    """

    def __init__(
        self,
        session: Session,
        keystore: KeyStore,
        sender_id: str,
        list_ids: Sequence[str],
        page_size: int = LOOKUP_CHUNK,
    ) -> None:
        for list_id in dict.fromkeys(list_ids):
            get_list(session, sender_id, list_id)
        self._session = session
        self._keystore = keystore
        self._sender_id = sender_id
        self._list_ids = list(dict.fromkeys(list_ids))
        self._page_size = page_size
        self.unreadable = 0

    def __iter__(self) -> Iterator[str]:
        last_id = ""
        while True:
            contact_ids = self._next_page(last_id)
            if not contact_ids:
                return
            last_id = contact_ids[-1]
            contacts = self._session.exec(
                select(Contact)
                .where(Contact.sender_id == self._sender_id, col(Contact.id).in_(contact_ids))
                .order_by(col(Contact.id))
            ).all()
            for contact in contacts:
                address = self._address(contact)
                if address is None:
                    self.unreadable += 1
                    continue
                yield address

    def _next_page(self, after: str) -> list[str]:
        query = (
            select(ListMembership.contact_id)
            .where(
                ListMembership.sender_id == self._sender_id,
                col(ListMembership.list_id).in_(self._list_ids),
                ListMembership.status == MembershipStatus.SUBSCRIBED.value,
                col(ListMembership.contact_id) > after,
            )
            .distinct()
            .order_by(col(ListMembership.contact_id))
            .limit(self._page_size)
        )
        return list(self._session.exec(query).all())

    def _address(self, contact: Contact) -> str | None:
        if contact.email_ciphertext is None:
            return None
        key = self._keystore.get_key(contact.id)
        if key is None:
            log.warning(
                "presend.member_key_missing", sender_id=self._sender_id, contact_id=contact.id
            )
            return None
        return decrypt_field(key, contact.id, "email", contact.email_ciphertext)
