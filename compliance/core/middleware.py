"""ASGI middleware: request ids, the body-size limit and the last-resort error guard."""

from __future__ import annotations

import html
import json
import secrets
import time
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from compliance.core.errors import safe_id
from compliance.core.i18n import N_, negotiate_locale, translate
from compliance.core.metrics import observe_request

log = structlog.get_logger(__name__)


class BodyTooLarge(Exception):
    pass


class RequestContextMiddleware:
    """Bind a request id, cap the body size and turn unexpected errors into a 500.

    The size cap reads ``Content-Length`` first and then counts the bytes
    actually received, so a chunked body cannot slip past it.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int, default_locale: str) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.default_locale = default_locale

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        headers = {
            key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]
        }
        request_id = _valid_request_id(headers.get("x-request-id")) or secrets.token_hex(8)
        lang = negotiate_locale(headers.get("accept-language"), self.default_locale)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)

        raw_path = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "replace")
        if (
            b"%00" in raw_path.lower()
            or b"\x00" in raw_path
            or b"%00" in scope.get("query_string", b"")
        ):
            # PostgreSQL text cannot hold NUL; no id or parameter contains one.
            detail = translate(lang, N_("The request URL contains a NUL character; remove it."))
            await _send_json(send, 400, {"error": "invalid_input", "detail": detail}, request_id)
            observe_request(scope.get("method", ""), "unmatched", 400, 0.0)
            return

        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._send_too_large(scope, send, lang, request_id)
            observe_request(scope.get("method", ""), "unmatched", 413, 0.0)
            return

        received = 0
        started = False
        too_large = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    too_large = True
                    raise BodyTooLarge
            return message

        status_code = 0
        started_at = time.perf_counter()

        async def tracking_send(message: Message) -> None:
            nonlocal started, status_code
            if too_large:
                # FastAPI turns a failed body read into its own 400; the
                # 413 sent below replaces it.
                return
            if message["type"] == "http.response.start":
                started = True
                status_code = int(message["status"])
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                    *_api_cache_headers(scope, message.get("headers", [])),
                ]
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            pass
        except Exception as error:
            # The text of the error may hold personal data or database text.
            log.error(
                "request.unhandled", error_type=type(error).__name__, route=route_template(scope)
            )
            if not started:
                detail = translate(
                    lang,
                    N_("An internal error occurred; the request changed nothing. Try again later."),
                )
                if str(scope.get("path", "")).startswith("/v1"):
                    await _send_json(
                        send, 500, {"error": "internal_error", "detail": detail}, request_id
                    )
                else:
                    await _send_html(send, 500, detail, lang, request_id)
            observe_request(
                scope.get("method", ""),
                route_template(scope),
                status_code if started else 500,
                time.perf_counter() - started_at,
            )
            return

        if too_large and not started:
            await self._send_too_large(scope, send, lang, request_id)
            status_code = 413

        duration = time.perf_counter() - started_at
        log.info(
            "request.completed",
            method=scope.get("method", ""),
            route=route_template(scope),
            status=status_code,
            duration_ms=round(duration * 1000, 1),
            **path_ids(scope),
        )
        observe_request(scope.get("method", ""), route_template(scope), status_code, duration)

    async def _send_too_large(self, scope: Scope, send: Send, lang: str, request_id: str) -> None:
        detail = translate(
            lang,
            N_("The request body is larger than %(limit)s bytes; send a smaller body or split it."),
            limit=self.max_body_bytes,
        )
        await _send_json(
            send,
            413,
            {"error": "payload_too_large", "detail": detail, "limit": self.max_body_bytes},
            request_id,
        )


def _api_cache_headers(
    scope: Scope, headers: list[tuple[bytes, bytes]]
) -> list[tuple[bytes, bytes]]:
    """Return the headers that keep API responses out of every cache, unless the route set them.

    API responses carry personal data and consent proof: no browser, proxy
    or gateway may store them (OWASP ASVS 4.0.3 8.1.1 and 8.2.1).
    """
    if not str(scope.get("path", "")).startswith("/v1"):
        return []
    names = {name.lower() for name, _ in headers}
    added = []
    if b"cache-control" not in names:
        added.append((b"cache-control", b"no-store"))
    if b"x-content-type-options" not in names:
        added.append((b"x-content-type-options", b"nosniff"))
    return added


def path_ids(scope: Scope) -> dict[str, str]:
    """Return the id parameters of the matched route (``contact_id`` and the like), for the log.

    With the API key id that the request context binds, this line is the
    access record of a person's data that OWASP ASVS 4.0.3 8.3.5 requires,
    without the data itself. Tokens are left out (they are credentials), and a value
    that does not look like an id is masked, since a caller may put an
    address in the path.
    """
    params = scope.get("path_params") or {}
    return {
        name: safe_id(str(value))
        for name, value in params.items()
        if name.endswith("_id") and isinstance(value, str)
    }


def route_template(scope: Scope) -> str:
    """Return the matched route's template (``/p/{token}``), never the concrete path.

    Paths of subscriber pages carry signed tokens, which must not reach logs.
    """
    route = scope.get("route")
    template = getattr(route, "path", None)
    return str(template) if template else "unmatched"


def _valid_request_id(value: str | None) -> str | None:
    if value and len(value) <= 64 and all(ch.isalnum() or ch in "-_." for ch in value):
        return value
    return None


async def _send_html(send: Send, status: int, detail: str, lang: str, request_id: str) -> None:
    page = (
        f'<!doctype html><html lang="{lang}"><meta charset="utf-8"><title>{status}</title>'
        f"<p>{html.escape(detail)}</p></html>"
    )
    await _send_body(send, status, page.encode("utf-8"), b"text/html; charset=utf-8", request_id)


async def _send_json(send: Send, status: int, body: dict[str, Any], request_id: str) -> None:
    await _send_body(
        send, status, json.dumps(body).encode("utf-8"), b"application/json", request_id
    )


async def _send_body(
    send: Send, status: int, payload: bytes, content_type: bytes, request_id: str
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(payload)).encode()),
                (b"x-request-id", request_id.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
