"""``GET /readyz`` and ``GET /metrics``: probes and Prometheus metrics for operators.

Both stay out of the OpenAPI schema, like ``/healthz``: they serve the
platform that runs Sendguard, not API clients.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator, Sequence

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import Engine

from compliance.core.context import Services
from compliance.core.gauges import DatabaseGaugeCollector, GaugeSource
from compliance.core.i18n import N_, negotiate_locale, translate
from compliance.core.readiness import ReadinessProbe, migration_heads
from compliance.core.settings import Settings

MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


class _Combined:
    """Chain several collectors into one, for a single ``generate_latest`` call."""

    def __init__(self, collectors: Sequence[Collector]) -> None:
        self._collectors = collectors

    def collect(self) -> Iterator[Metric]:
        for collector in self._collectors:
            yield from collector.collect()


def render_metrics(engine: Engine, sources: Sequence[GaugeSource]) -> bytes:
    """Render every metric in the Prometheus text format, database gauges included.

    With ``PROMETHEUS_MULTIPROC_DIR`` set, counters and histograms are the
    sums over the files of every worker process. Without it, they are this
    process's own values, with its CPU and memory metrics.
    """
    process_metrics: Collector
    if os.environ.get(MULTIPROCESS_VARIABLE):
        process_metrics = MultiProcessCollector(None)  # type: ignore[no-untyped-call]
    else:
        process_metrics = REGISTRY
    return generate_latest(_Combined([process_metrics, DatabaseGaugeCollector(engine, sources)]))


def token_matches(authorization: str, token: str) -> bool:
    """Compare a bearer token in constant time, so its bytes cannot be guessed by timing."""
    scheme, _, presented = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(presented.strip().encode("utf-8"), token.encode("utf-8"))


def operations_router(settings: Settings, gauge_sources: Sequence[GaugeSource]) -> APIRouter:
    """Build the ``/readyz`` and ``/metrics`` routes; ``gauge_sources`` feed the database gauges."""
    router = APIRouter(include_in_schema=False)
    heads = migration_heads()
    sources = tuple(gauge_sources)

    @router.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        readiness = await _probe(request, heads, settings.readiness_timeout_seconds).check()
        return JSONResponse(readiness.as_json(), status_code=200 if readiness.ready else 503)

    @router.get("/metrics")
    def metrics(request: Request) -> Response:
        token = settings.metrics_token
        if token is not None and not token_matches(
            request.headers.get("authorization", ""), token.get_secret_value()
        ):
            lang = negotiate_locale(request.headers.get("accept-language"), settings.default_locale)
            detail = translate(
                lang,
                N_(
                    "Missing or wrong metrics token; send the header"
                    " 'Authorization: Bearer <token>' with the value of SENDGUARD_METRICS_TOKEN."
                ),
            )
            return JSONResponse(
                {"error": "unauthorized", "detail": detail},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )

        engine: Engine = request.app.state.engine
        return Response(render_metrics(engine, sources), media_type=CONTENT_TYPE_LATEST)

    return router


def _probe(request: Request, heads: tuple[str, ...], deadline_seconds: float) -> ReadinessProbe:
    # Built on first use: the engines exist only once the lifespan has run,
    # and a restarted lifespan (tests reuse one app) brings new engines.
    engine: Engine = request.app.state.engine
    services: Services = request.app.state.services
    probe: ReadinessProbe | None = getattr(request.app.state, "readiness_probe", None)
    if probe is None or not probe.uses(engine, services.keystore.engine):
        probe = ReadinessProbe(engine, services.keystore.engine, heads, deadline_seconds)
        request.app.state.readiness_probe = probe
    return probe
