"""The error responses of the ``/v1`` API as OpenAPI declarations.

Every exception of :mod:`compliance.core.errors` reaches an API client as
the JSON body described by :class:`ErrorBody`. Routers pass
:data:`API_ERROR_RESPONSES` to ``responses=`` so that the published schema
lists these statuses with the body the client really receives, in place of
FastAPI's default 422 body, which this service never sends.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class ValidationProblem(BaseModel):
    """One invalid field of a request that failed validation."""

    field: str
    fault: str
    message: str


class ErrorBody(BaseModel):
    """The JSON body of every API error. Other keys carry non-personal context."""

    model_config = ConfigDict(extra="allow")

    error: str
    detail: str
    field: str | None = None
    errors: list[ValidationProblem] | None = None


def _error(description: str) -> dict[str, Any]:
    # FastAPI files a response model under the route's media type, which is
    # text/html for a route that returns HTML. The explicit entry keeps the
    # JSON media type that the error handlers send on every /v1 route.
    json_body = {"schema": {"$ref": "#/components/schemas/ErrorBody"}}
    return {
        "model": ErrorBody,
        "description": description,
        "content": {"application/json": json_body},
    }


# NOTE: every /v1 route gets the same set, so a route may list a status (409,
# for example) that its own code never returns.
API_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _error("The request body could not be read (not UTF-8, or a broken form)."),
    401: _error("No API key, or an unknown or revoked one."),
    403: _error("The key's role may not call this route, or the feature is not configured."),
    404: _error("No such id for this sender."),
    409: _error("The current state forbids the change."),
    413: _error("The request body is larger than SENDGUARD_MAX_BODY_BYTES."),
    422: _error("A field is missing or invalid; the body names it."),
    429: _error("Too many requests; retry after Retry-After seconds."),
}
