"""The application factory: the only place, with the CLI, that wires every package together."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import structlog
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlmodel import Session

from compliance.core import api_keys
from compliance.core.blind_index import BlindIndexer
from compliance.core.context import Services
from compliance.core.db import make_engine
from compliance.core.errors import install_error_handlers
from compliance.core.i18n import make_jinja_environment
from compliance.core.keys import load_keyring
from compliance.core.keystore import KeyStore
from compliance.core.logging import configure_logging
from compliance.core.mail import make_transport
from compliance.core.middleware import RequestContextMiddleware
from compliance.core.outbox import OutboxWorker, PermanentFailure
from compliance.core.ratelimit import RateLimiter
from compliance.core.settings import Settings, get_settings
from compliance.core.tokens import TokenSigner
from compliance.presend import domains as domains_router
from compliance.presend import router as presend_router
from compliance.presend import screening as screening_router
from consent import pages as consent_pages
from consent import router as consent_router
from consent.service import addresses_for_digests, record_hard_bounce
from dsr import router as dsr_router
from suppression import files_router, lists_router
from suppression import router as suppression_router

log = structlog.get_logger(__name__)

_ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_DIRS = [_ROOT / "compliance" / "core" / "templates", _ROOT / "consent" / "templates"]


def suppress_refused_recipient(engine: Engine, failure: PermanentFailure) -> None:
    """Suppress, as a hard bounce, an address that a relay refused with a 5xx at RCPT TO."""
    if not failure.recipient_refused or not failure.contact_id:
        return
    with Session(engine) as session:
        if record_hard_bounce(session, failure.contact_id, f"outbox:{failure.outbox_id}"):
            session.commit()
            log.info(
                "outbox.recipient_suppressed",
                outbox_id=failure.outbox_id,
                contact_id=failure.contact_id,
            )


def create_app(
    settings: Settings | None = None, *, run_worker: bool = True, configure_logs: bool = True
) -> FastAPI:
    """Build the FastAPI application; engines and the outbox worker start in its lifespan."""
    settings = settings or get_settings()
    if configure_logs:
        configure_logging()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.resolved_database_url)
        keystore_engine = make_engine(settings.resolved_keystore_url)
        keyring = load_keyring(settings)
        keystore = KeyStore(keystore_engine, keyring.master_key)
        keystore.create_schema()
        transport = make_transport(settings.smtp_url, settings.resolved_outbox_dir)

        app.state.engine = engine
        app.state.services = Services(
            settings=settings,
            keystore=keystore,
            indexer=BlindIndexer(keyring),
            tokens=TokenSigner(keyring.token_secret),
            jinja=app.state.jinja,
            subscribe_limiter=RateLimiter(settings.subscribe_rate_per_minute, 60.0),
            transport=transport,
        )

        worker_task: asyncio.Task[None] | None = None
        if run_worker:
            worker = OutboxWorker(
                engine,
                keystore,
                transport,
                settings.outbox_poll_seconds,
                settings.outbox_max_attempts,
                on_permanent_failure=partial(suppress_refused_recipient, engine),
            )
            app.state.outbox_worker = worker
            worker_task = asyncio.create_task(worker.run())
        log.info("app.started", env=settings.env.value, worker=run_worker)
        try:
            yield
        finally:
            if worker_task is not None:
                worker_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker_task
            engine.dispose()
            keystore_engine.dispose()
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

    app.include_router(api_keys.router)
    app.include_router(consent_router.router)
    app.include_router(consent_pages.router)
    app.include_router(screening_router.router)
    app.include_router(lists_router.router)
    app.include_router(suppression_router.router)
    app.include_router(files_router.router)
    app.include_router(dsr_router.router)
    app.include_router(presend_router.router)
    app.include_router(domains_router.router)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
