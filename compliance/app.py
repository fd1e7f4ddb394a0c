"""The application factory: the only place, with the CLI, that wires every package together."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import structlog
from fastapi import FastAPI
from jinja2 import Environment
from sqlalchemy import Engine
from sqlmodel import Session

from compliance.core import api_keys
from compliance.core.blind_index import BlindIndexer
from compliance.core.context import Services
from compliance.core.csrf import CsrfGuard
from compliance.core.db import make_engine
from compliance.core.dkim_signing import load_dkim_signer
from compliance.core.errors import install_error_handlers
from compliance.core.fingerprint import ClientFingerprinter
from compliance.core.i18n import make_jinja_environment
from compliance.core.keys import load_keyring
from compliance.core.keystore import KeyStore
from compliance.core.logging import configure_logging
from compliance.core.mail import make_transport
from compliance.core.middleware import RequestContextMiddleware
from compliance.core.outbox import OutboxWorker, PermanentFailure
from compliance.core.ratelimit import RateLimiter
from compliance.core.settings import Settings, get_settings
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
from consent.maintenance import run_maintenance
from consent.service import addresses_for_digests, record_hard_bounce
from dsr import intake_router as dsr_intake_router
from dsr import processors_router
from dsr import router as dsr_router
from dsr.closing import on_task_finished
from dsr.event_purge import run_event_purger
from dsr.maintenance import run_dsr_maintenance
from dsr.processor_worker import run_processor_worker
from dsr.retention import apply_retention
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


@dataclass(frozen=True)
class Runtime:
    engine: Engine
    keystore_engine: Engine
    services: Services

    def dispose(self) -> None:
        self.engine.dispose()
        self.keystore_engine.dispose()


def open_runtime(settings: Settings, jinja: Environment | None = None) -> Runtime:
    """Build the engines and the services, for the app and for commands that need them."""
    engine = make_engine(settings.resolved_database_url)
    keystore_engine = make_engine(settings.resolved_keystore_url)
    keyring = load_keyring(settings)
    keystore = KeyStore(keystore_engine, keyring.master_key)
    keystore.create_schema()
    services = Services(
        settings=settings,
        keystore=keystore,
        indexer=BlindIndexer(keyring),
        tokens=TokenSigner(keyring.token_secret),
        jinja=jinja or make_jinja_environment(TEMPLATE_DIRS),
        subscribe_limiter=RateLimiter(settings.subscribe_rate_per_minute, 60.0),
        transport=make_transport(settings.smtp_url, settings.resolved_outbox_dir),
        signer=StatementSigner(keyring.master_key),
        fingerprints=ClientFingerprinter(keyring.master_key),
        csrf=CsrfGuard(
            keyring.master_key, secure_cookie=settings.public_url.startswith("https://")
        ),
    )
    return Runtime(engine, keystore_engine, services)


async def run_maintenance_forever(engine: Engine, services: Services) -> None:
    """Run the consent and DSR maintenance every interval, and retention every few hours.

    Retention runs once at start-up, then every ``retention_interval_hours``;
    several processes may run it at once (it skips rows another one holds).
    """
    retention_seconds = services.settings.retention_interval_hours * 3600
    last_retention: float | None = None
    while True:
        try:
            await asyncio.to_thread(run_maintenance, engine, services)
            await asyncio.to_thread(run_dsr_maintenance, engine, services)
        except Exception as error:
            log.error("maintenance.failed", error_type=type(error).__name__)
        started = time.monotonic()
        if last_retention is None or started - last_retention >= retention_seconds:
            last_retention = started
            try:
                await asyncio.to_thread(apply_retention, engine, services)
            except Exception as error:
                log.error("retention.failed", error_type=type(error).__name__)
        await asyncio.sleep(services.settings.maintenance_interval_seconds)


def _close_after_processors(services: Services, session: Session, request_id: str) -> None:
    on_task_finished(session, services, request_id)


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
        engine, keystore_engine = runtime.engine, runtime.keystore_engine
        services = runtime.services
        keystore, transport = services.keystore, services.transport
        app.state.engine = engine
        app.state.services = services

        worker_task: asyncio.Task[None] | None = None
        maintenance_task: asyncio.Task[None] | None = None
        processor_task: asyncio.Task[None] | None = None
        purge_task: asyncio.Task[None] | None = None
        if run_worker:
            worker = OutboxWorker(
                engine,
                keystore,
                transport,
                settings.outbox_poll_seconds,
                settings.outbox_max_attempts,
                on_permanent_failure=partial(suppress_refused_recipient, engine),
                dkim=load_dkim_signer(settings),
            )
            app.state.outbox_worker = worker
            worker_task = asyncio.create_task(worker.run())
            maintenance_task = asyncio.create_task(run_maintenance_forever(engine, services))
            # Processors (GDPR Art. 19) are notified of erasures and objections, and
            # the last response closes the request and signs its certificate.
            processor_task = asyncio.create_task(
                run_processor_worker(
                    engine,
                    services,
                    on_final=partial(_close_after_processors, services),
                    poll_seconds=settings.outbox_poll_seconds,
                )
            )
            # Erasures of subjects with a long event history finish here.
            purge_task = asyncio.create_task(
                run_event_purger(engine, services, settings.outbox_poll_seconds)
            )
        log.info("app.started", env=settings.env.value, worker=run_worker)
        try:
            yield
        finally:
            for task in (worker_task, maintenance_task, processor_task, purge_task):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            if run_worker:
                # A cancelled task does not stop the thread it started with
                # asyncio.to_thread: wait for those threads, so that none is
                # still in a transaction when the engines are disposed below.
                await asyncio.get_running_loop().shutdown_default_executor()
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
    app.include_router(topics_router.router)
    app.include_router(ledger_router.router)
    app.include_router(signup_form.api_router)
    app.include_router(signup_form.page_router)
    app.include_router(consent_pages.router)
    app.include_router(preference_pages.router)
    app.include_router(preferences_router.router)
    app.include_router(screening_router.router)
    app.include_router(lists_router.router)
    app.include_router(suppression_router.router)
    app.include_router(events_router.router)
    app.include_router(files_router.router)
    # The public DSR routes come first: /v1/dsr/certificate-key must not be
    # read as the id of a request.
    app.include_router(dsr_intake_router.router)
    app.include_router(dsr_router.router)
    app.include_router(processors_router.router)
    app.include_router(reputation_router.router)
    app.include_router(dashboard.router)
    app.include_router(presend_router.router)
    app.include_router(domains_router.router)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
