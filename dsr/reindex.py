"""Data-subject requests under a blind-index key rotation: move a known subject's index."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from compliance.core.blind_index import BlindIndex
from dsr.models import DataSubjectRequest

_REQUESTS = DataSubjectRequest.__table__  # type: ignore[attr-defined]


def reindex_requests(
    session: Session, sender_id: str, rewrites: Mapping[BlindIndex, BlindIndex]
) -> Counter[int]:
    """Rewrite the subject index of the sender's requests from each old index to its new one.

    Returns the requests moved, by the version they had. The certificate of
    a closed request keeps the index it was signed with.
    """
    moved: Counter[int] = Counter()
    for old, new in rewrites.items():
        if old.version == new.version:
            continue
        result = session.connection().execute(
            update(_REQUESTS)
            .where(
                _REQUESTS.c.sender_id == sender_id,
                _REQUESTS.c.subject_index_version == old.version,
                _REQUESTS.c.subject_index == old.digest,
            )
            .values(subject_index=new.digest, subject_index_version=new.version)
        )
        moved[old.version] += int(result.rowcount)
    return moved


def count_requests_by_version(session: Session) -> dict[int, int]:
    """Count data-subject requests by the key version of their subject index."""
    rows = session.exec(
        select(DataSubjectRequest.subject_index_version, func.count()).group_by(
            col(DataSubjectRequest.subject_index_version)
        )
    ).all()
    return {int(version): int(count) for version, count in rows}
