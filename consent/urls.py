"""The form-page URL the ledger keeps, stripped of what may identify a person."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

MAX_URL = 2000


def form_page_url(url: str | None) -> str | None:
    """Keep scheme, host and path; drop the query, the fragment and any path part with an ``@``.

    Sign-up pages often carry the address in the query string or the path
    (``/signup?email=…``); the ledger is append-only and hashed, so personal
    data written there could never be erased.
    """
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    segments = ["-" if "@" in unquote(segment) else segment for segment in parts.path.split("/")]
    host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    return f"{parts.scheme}://{host}{'/'.join(segments)}"[:MAX_URL]
