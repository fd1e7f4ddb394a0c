"""The application factory: the only place, with the CLI, that wires every package together."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import structlog
from fastapi import FastAPI
from jinja2 import Environment
from sqlalchemy import Engine

from compliance.background import BackgroundLoops
from compliance.core import api_keys
from compliance.core.blind_index import BlindIndexer
from compliance.core.context import Services
from compliance.core.csrf import CsrfGuard
from compliance.core.db import make_engine
from compliance.core.error_responses import API_ERROR_RESPONSES
from compliance.core.errors import install_error_handlers
from compliance.core.fingerprint import ClientFingerprinter
from compliance.core.gauges import outbox_gauges
from compliance.core.i18n import make_jinja_environment
from compliance.core.keys import load_keyring
from compliance.core.keystore import KeyStore
from compliance.core.logging import configure_logging
from compliance.core.mail import make_transport
from compliance.core.middleware import RequestContextMiddleware
from compliance.core.operations import operations_router
from compliance.core.ratelimit import MemoryRateLimiter, RateLimiter
from compliance.core.ratelimit_db import DatabaseRateLimits
from compliance.core.settings import RateLimitStore, Settings, get_settings
from compliance.core.signing import StatementSigner
from compliance.core.tokens import TokenSigner
from compliance.presend import domains as domains_router
from compliance.presend import router as presend_router
from compliance.presend import screening as screening_router
from compliance.reputation import dashboard
from compliance.reputation import router as reputation_router
from consent import (
    ledger_router,
    preference_pages,
    preferences_router,
    signup_form,
    topics_router,
)
from consent import pages as consent_pages
from consent import router as consent_router
from consent.service import addresses_for_digests
from dsr import intake_router as dsr_intake_router
from dsr import processors_router
from dsr import router as dsr_router
from dsr.metrics import dsr_gauges
from suppression import events_router, files_router, lists_router
from suppression import router as suppression_router

log = structlog.get_logger(__name__)

_ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_DIRS = [
    _ROOT / "compliance" / "core" / "templates",
    _ROOT / "consent" / "templates",
    _ROOT / "dsr" / "templates",
    _ROOT / "compliance" / "reputation" / "templates",
]
# Read by create_app_from_environment in each uvicorn worker process.
BACKGROUND_VARIABLE = "SENDGUARD_SERVE_BACKGROUND"


@dataclass(frozen=True)
class Runtime:
    engine: Engine
    keystore_engine: Engine
    services: Services
    # The database store of rate limits, with its own engine; None with the memory store.
    rate_limits: DatabaseRateLimits | None = None

    def dispose(self) -> None:
        self.engine.dispose()
        self.keystore_engine.dispose()
        if self.rate_limits is not None:
            self.rate_limits.dispose()


def open_runtime(settings: Settings, jinja: Environment | None = None) -> Runtime:
    """Build the engines and the services, for the app and for commands that need them."""
    pool = {
        "pool_size": settings.database_pool_size,
        "max_overflow": settings.database_max_overflow,
    }
    engine = make_engine(settings.resolved_database_url, **pool)
    keystore_engine = make_engine(settings.resolved_keystore_url, **pool)
    keyring = load_keyring(settings)
    keystore = KeyStore(keystore_engine, keyring.master_key, keyring.previous_master_keys)
    keystore.create_schema()
    rate_limits = None
    if settings.resolved_rate_limit_store is RateLimitStore.DATABASE:
        rate_limits = DatabaseRateLimits(settings.resolved_database_url, keyring.master_key)

    def limiter(scope: str, limit: int, window_seconds: int) -> RateLimiter:
        if rate_limits is None:
            return MemoryRateLimiter(limit, window_seconds)
        return rate_limits.limiter(scope, limit, window_seconds)

    services = Services(
        settings=settings,
        keystore=keystore,
        indexer=BlindIndexer(keyring),
        tokens=TokenSigner(keyring.token_secret, keyring.previous_token_secrets),
        jinja=jinja or make_jinja_environment(TEMPLATE_DIRS),
        subscribe_limiter=limiter("subscribe", settings.subscribe_rate_per_minute, 60),
        login_limiter=limiter(
            "dashboard-login", dashboard.LOGIN_ATTEMPTS, dashboard.LOGIN_WINDOW_SECONDS
        ),
        dsr_subject_limiter=limiter(
            "dsr-subject",
            dsr_intake_router.CODES_PER_SUBJECT,
            dsr_intake_router.CODES_PER_SUBJECT_WINDOW_SECONDS,
        ),
        transport=make_transport(settings.smtp_url, settings.resolved_outbox_dir),
        signer=StatementSigner(keyring.master_key),
        fingerprints=ClientFingerprinter(keyring.master_key),
        csrf=CsrfGuard(
            keyring.master_key, secure_cookie=settings.public_url.startswith("https://")
        ),
    )
    return Runtime(engine, keystore_engine, services, rate_limits)


def create_app_from_environment() -> FastAPI:
    """Build the application from ``SENDGUARD_*`` variables: the factory of ``serve --workers N``.

    uvicorn starts each worker process with an import string, so the CLI
    passes its choices through the environment: ``BACKGROUND_VARIABLE`` set
    to ``0`` leaves the background loops to dedicated ``sendguard worker``
    processes.
    """
    run_background = os.environ.get(BACKGROUND_VARIABLE, "1") != "0"
    return create_app(get_settings(), run_worker=run_background)


def create_app(
    settings: Settings | None = None, *, run_worker: bool = True, configure_logs: bool = True
) -> FastAPI:
    """Build the FastAPI application; engines and the outbox worker start in its lifespan."""
    settings = settings or get_settings()
    if configure_logs:
        configure_logging()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = open_runtime(settings, app.state.jinja)
        engine = runtime.engine
        services = runtime.services
        app.state.engine = engine
        app.state.services = services

        loops: BackgroundLoops | None = None
        if run_worker:
            loops = BackgroundLoops(engine, services)
            app.state.outbox_worker = loops.outbox
            loops.start()
        log.info("app.started", env=settings.env.value, worker=run_worker)
        try:
            yield
        finally:
            # uvicorn has let the requests in flight finish before this runs.
            if loops is not None:
                await loops.stop()
            runtime.dispose()
            log.info("app.stopped")

    app = FastAPI(
        title="Sendguard",
        version="0.1.0",
        summary=(
            "Email-marketing compliance and deliverability: consent, suppression,"
            " data-subject requests, pre-send checks."
        ),
        lifespan=lifespan,
    )
    app.state.default_locale = settings.default_locale
    app.state.jinja = make_jinja_environment(TEMPLATE_DIRS)
    # Exports show the address of entries whose contact still exists; the
    # suppression package may not import consent, so the look-up is passed in.
    app.state.export_addresses = addresses_for_digests
    install_error_handlers(app)
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        default_locale=settings.default_locale,
    )

    # API routers publish the JSON error body that compliance.core.errors
    # sends. Pages are not in the schema and render HTML errors.
    error_responses = API_ERROR_RESPONSES
    app.include_router(api_keys.router, responses=error_responses)
    app.include_router(consent_router.router, responses=error_responses)
    app.include_router(topics_router.router, responses=error_responses)
    app.include_router(ledger_router.router, responses=error_responses)
    app.include_router(signup_form.api_router, responses=error_responses)
    app.include_router(signup_form.page_router)
    app.include_router(consent_pages.router)
    app.include_router(preference_pages.router)
    app.include_router(preferences_router.router, responses=error_responses)
    app.include_router(screening_router.router, responses=error_responses)
    app.include_router(lists_router.router, responses=error_responses)
    app.include_router(suppression_router.router, responses=error_responses)
    app.include_router(events_router.router, responses=error_responses)
    app.include_router(files_router.router, responses=error_responses)
    # The public DSR routes come first: /v1/dsr/certificate-key must not be
    # read as the id of a request. They declare their own error responses
    # because /x/{token} is a page.
    app.include_router(dsr_intake_router.router)
    app.include_router(dsr_router.router, responses=error_responses)
    app.include_router(processors_router.router, responses=error_responses)
    app.include_router(reputation_router.router, responses=error_responses)
    app.include_router(dashboard.router)
    app.include_router(presend_router.router, responses=error_responses)
    app.include_router(domains_router.router, responses=error_responses)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(operations_router(settings, [outbox_gauges, dsr_gauges]))

    return app
