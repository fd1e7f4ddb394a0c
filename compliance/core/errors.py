"""The error tree and how errors reach clients.

API routes (paths under ``/v1``) return ``{"error": code, "detail": message,
...context}``; pages return a localized HTML page. Messages name the field
and the fault, and may show non-personal values such as an id, a date or
a domain. They never contain an address, a name, a token or database text.

Exceptions::

    SendguardError
    ├── InvalidInput      422  a field is missing or invalid
    ├── Unauthorized      401  no API key, or an unknown or revoked one
    ├── Forbidden         403  the key's role may not call this route
    ├── NotFound          404  no such id for this sender
    ├── Conflict          409  the state forbids the change (e.g. a list lock)
    ├── PayloadTooLarge   413
    └── RateLimited       429
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from compliance.core.i18n import N_, gettext_context, negotiate_locale, translate

log = structlog.get_logger(__name__)


_SAFE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def safe_id(value: str) -> str:
    """Return ``value`` for an error message when it looks like an id, else a placeholder.

    Ids come from URLs and bodies, where a caller may put an address; the
    message must not repeat it.
    """
    return value if _SAFE_ID.match(value) else "(invalid id)"


class SendguardError(Exception):
    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(
        self, msgid: str, /, *, context: Mapping[str, Any] | None = None, **params: object
    ) -> None:
        # msgid is an English gettext id with %(name)s parameters, translated
        # when the response is rendered in the client's language.
        super().__init__(msgid % params if params else msgid)
        self.msgid = msgid
        self.params = params
        self.context = dict(context or {})

    def message(self, lang: str) -> str:
        return translate(lang, self.msgid, **self.params)


class InvalidInput(SendguardError):
    status_code = 422
    code = "invalid_input"

    def __init__(self, field: str, msgid: str, /, **params: object) -> None:
        super().__init__(msgid, context={"field": field}, **params)


class Unauthorized(SendguardError):
    status_code = 401
    code = "unauthorized"


class Forbidden(SendguardError):
    status_code = 403
    code = "forbidden"


class NotFound(SendguardError):
    status_code = 404
    code = "not_found"


class Conflict(SendguardError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(SendguardError):
    status_code = 413
    code = "payload_too_large"


class RateLimited(SendguardError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, msgid: str, /, *, retry_after_seconds: int, **params: object) -> None:
        super().__init__(msgid, context={"retry_after_seconds": retry_after_seconds}, **params)
        self.headers = {"Retry-After": str(retry_after_seconds)}


# Pydantic error types mapped to translated messages. The pydantic text is
# English only and sometimes quotes the input, so it is never passed through.
_VALIDATION_MESSAGES: dict[str, str] = {
    "missing": N_("Field %(field)s is missing; add it to the request body."),
    "extra_forbidden": N_("Field %(field)s is not accepted here; remove it (check its spelling)."),
    "json_invalid": N_("The request body is not valid JSON; send a JSON object."),
    "model_attributes_type": N_("The request body must be a JSON object."),
    "dict_type": N_("Field %(field)s must be a JSON object."),
    "string_type": N_("Field %(field)s must be a string."),
    "list_type": N_("Field %(field)s must be a JSON array."),
    "bool_type": N_("Field %(field)s must be true or false."),
    "bool_parsing": N_("Field %(field)s must be true or false."),
    "int_type": N_("Field %(field)s must be an integer."),
    "int_parsing": N_("Field %(field)s must be an integer."),
    "string_too_long": N_("Field %(field)s is too long; the maximum is %(max_length)s characters."),
    "string_too_short": N_(
        "Field %(field)s is too short; the minimum is %(min_length)s characters."
    ),
    "too_long": N_("Field %(field)s has too many items; the maximum is %(max_length)s."),
    "too_short": N_("Field %(field)s has too few items; the minimum is %(min_length)s."),
    "enum": N_("Field %(field)s must be one of: %(expected)s."),
    "literal_error": N_("Field %(field)s must be one of: %(expected)s."),
    "datetime_type": N_("Field %(field)s must be a date and time in ISO 8601 format."),
    "datetime_parsing": N_("Field %(field)s must be a date and time in ISO 8601 format."),
    "datetime_from_date_parsing": N_("Field %(field)s must be a date and time in ISO 8601 format."),
    "url_parsing": N_(
        "Field %(field)s must be an absolute URL such as https://example.org/privacy."
    ),
    "url_scheme": N_("Field %(field)s must be an http or https URL."),
    "uuid_parsing": N_("Field %(field)s must be a UUID."),
    "timezone_aware": N_(
        "Field %(field)s needs a time zone, for example 2026-01-10T09:00:00Z "
        "or 2026-01-10T10:00:00+01:00."
    ),
    "value_error": N_("Field %(field)s is invalid: %(reason)s"),
    "greater_than_equal": N_("Field %(field)s must be at least %(ge)s."),
    "greater_than": N_("Field %(field)s must be greater than %(gt)s."),
    "less_than_equal": N_("Field %(field)s must be at most %(le)s."),
    "less_than": N_("Field %(field)s must be less than %(lt)s."),
    "finite_number": N_("Field %(field)s must be a finite number."),
    "string_unicode": N_(
        "Field %(field)s must be valid Unicode text; remove unpaired surrogate escapes."
    ),
}
_FALLBACK_MESSAGE = N_(
    "Field %(field)s is invalid; check its type and format in the API documentation."
)


def _field_name(location: tuple[Any, ...]) -> str:
    parts = [str(part) for part in location if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def validation_problems(error: RequestValidationError, lang: str) -> list[dict[str, str]]:
    problems = []
    for item in error.errors():
        kind = str(item.get("type", ""))
        # For invalid JSON the location ends with a character offset, not a field.
        field = "body" if kind == "json_invalid" else _field_name(tuple(item.get("loc", ())))
        context = item.get("ctx") or {}
        params: dict[str, object] = {"field": field}
        params["max_length"] = context.get("max_length", "")
        params["min_length"] = context.get("min_length", "")
        for bound in ("ge", "gt", "le", "lt"):
            params[bound] = context.get(bound, "")
        expected = str(context.get("expected", ""))
        # pydantic joins the allowed values with an English "or".
        params["expected"] = expected.replace("' or '", "' ou '") if lang == "fr" else expected
        # Our own validators raise ValueError with a message written to be
        # safe to show (no input echoed); pydantic puts it in ctx["error"].
        reason = context.get("error")
        params["reason"] = translate(lang, str(reason)) if reason is not None else ""
        msgid = _VALIDATION_MESSAGES.get(kind, _FALLBACK_MESSAGE)
        problems.append(
            {"field": field, "fault": kind, "message": translate(lang, msgid, **params)}
        )
    return problems


def request_locale(request: Request) -> str:
    default = getattr(request.app.state, "default_locale", "fr")
    chosen = request.query_params.get("lang")
    if chosen in ("fr", "en"):
        return chosen
    return negotiate_locale(request.headers.get("accept-language"), default)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/v1/") or request.url.path == "/v1"


def error_response(
    request: Request, status: int, code: str, detail: str, context: Mapping[str, Any]
) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": code, "detail": detail, **context}, status_code=status)

    lang = request_locale(request)
    environment = request.app.state.jinja
    html = environment.get_template("error.html").render(
        status=status, detail=detail, **gettext_context(lang)
    )
    return HTMLResponse(html, status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every exception into a safe response."""

    @app.exception_handler(SendguardError)
    async def _sendguard(request: Request, error: SendguardError) -> Response:
        lang = request_locale(request)
        response = error_response(
            request, error.status_code, error.code, error.message(lang), error.context
        )
        response.headers.update(getattr(error, "headers", {}))
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> Response:
        lang = request_locale(request)
        problems = validation_problems(error, lang)
        detail = " ".join(problem["message"] for problem in problems[:5])
        return error_response(request, 422, "invalid_input", detail, {"errors": problems})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        lang = request_locale(request)
        messages = {
            400: N_(
                "The request body could not be read; send a JSON object encoded in UTF-8, "
                "without nesting hundreds of levels deep or numbers over 4,300 digits."
            ),
            404: N_("Not found. Check the address of the page or the route."),
            405: N_("This method is not allowed on this route."),
        }
        msgid = messages.get(error.status_code, N_("The request failed."))
        return error_response(
            request, error.status_code, _http_code(error.status_code), translate(lang, msgid), {}
        )


def _http_code(status: int) -> str:
    return {400: "invalid_input", 404: "not_found", 405: "method_not_allowed"}.get(
        status, "http_error"
    )
