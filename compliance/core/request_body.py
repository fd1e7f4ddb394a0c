"""Request bodies read before the route runs, so that routes can be plain ``def``.

FastAPI runs a plain ``def`` route in its thread pool, and an ``async def``
route on the event loop. A route that touches the database must be a plain
``def``: on SQLite a write transaction may wait up to the busy timeout for
the write lock, and on the event loop that wait stops every other request
of the process, health checks and background loops included. Reading the
body is the only part that needs ``await``, so these dependencies do it
first and pass the result in.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData


async def read_form(request: Request) -> FormData:
    """Return the parsed form (urlencoded or multipart) of the request."""
    return await request.form()


async def read_body(request: Request) -> bytes:
    """Return the raw request body; the middleware has already capped its size."""
    return await request.body()


PageForm = Annotated[FormData, Depends(read_form)]
RawBody = Annotated[bytes, Depends(read_body)]
