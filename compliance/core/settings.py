"""Service settings, read from ``SENDGUARD_*`` environment variables.

Settings are built by :func:`get_settings` (cached) or passed explicitly to
``create_app(settings)``; importing this module reads nothing.
"""

from __future__ import annotations

import enum
import ipaddress
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that people paste from examples. Outside development a secret equal
# to one of these (or shorter than 32 characters) is rejected at start-up.
PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "change_me", "secret", "password", "xxx", "todo", "example"}
)
MIN_SECRET_LENGTH = 32


class Environment(enum.StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class RateLimitStore(enum.StrEnum):
    """Store of the rate-limit counters (docs/deployment.md)."""

    # The database store on PostgreSQL, the memory store on SQLite.
    AUTO = "auto"
    # Per process: N processes allow N times each limit.
    MEMORY = "memory"
    # One counter per key in the database, shared by every process (PostgreSQL only).
    DATABASE = "database"


class Settings(BaseSettings):
    """Every setting of the service; the environment prefix is ``SENDGUARD_``."""

    model_config = SettingsConfigDict(env_prefix="SENDGUARD_", extra="ignore")

    env: Environment = Environment.DEVELOPMENT

    # Folder for the default SQLite files, generated development keys and the
    # outbox folder of .eml files when no SMTP relay is configured.
    data_dir: Path = Path("sendguard-data")

    database_url: str = ""
    keystore_url: str = ""

    # Key material. In development, missing keys are generated into data_dir
    # on first start; in production they must be given.
    master_key_file: Path | None = None
    # Comma-separated paths of master key files used before the last
    # rotations. They unwrap data keys that `sendguard keys rewrap` has not
    # moved yet, but never wrap new ones.
    master_key_previous_files: str = ""
    token_secret: SecretStr | None = None
    # Comma-separated secrets that signed tokens before the last rotations.
    # They verify the links already sent (by key id) but never sign. Remove
    # one once the links it signed have expired.
    token_previous_secrets: SecretStr | None = None
    # Comma-separated "version:hex" pairs, for example "1:ab12…,2:cd34…".
    # The highest version is used for new entries; every listed version is
    # still computed when screening, so a rotation keeps old entries working.
    blind_index_keys: SecretStr | None = None

    # Connections each process keeps open to the main database and to the key
    # store, and how many more it may open under load. A pool smaller than
    # the requests in flight closes its extra connections and opens new ones.
    # With SQLAlchemy's default of 5, eight parallel sign-ups opened a
    # PostgreSQL session for one request in five (docs/benchmarks-consent.md).
    # A process opens at most size plus overflow to each database.
    database_pool_size: int = Field(default=10, ge=1, le=500)
    database_max_overflow: int = Field(default=10, ge=0, le=500)

    public_url: str = "http://127.0.0.1:8000"
    smtp_url: str = ""
    mail_from: str = "Sendguard <no-reply@localhost>"
    outbox_dir: Path | None = None

    # "host:port" list, comma-separated; empty means the system resolver.
    dns_nameservers: str = ""
    dns_timeout_seconds: float = Field(default=3.0, gt=0, le=60)

    default_locale: str = "fr"

    max_body_bytes: int = Field(default=1_048_576, gt=0)
    # When set, GET /metrics requires the header "Authorization: Bearer
    # <token>". Unset, /metrics is open: restrict it at the reverse proxy.
    metrics_token: SecretStr | None = None
    # GET /readyz returns 503 when its database checks take longer than this (seconds).
    readiness_timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    # Double opt-in links expire after this many hours (7 days); unconfirmed
    # sign-ups are purged once their link has expired (data minimisation).
    confirmation_ttl_hours: int = Field(default=168, gt=0)
    # One reminder is queued this many hours after the confirmation email,
    # when the link has not been used; 0 sends no reminder. It must fall
    # before the expiry.
    confirmation_reminder_after_hours: int = Field(default=72, ge=0)
    # A pending address gets at most one new confirmation email per this
    # delay, however often the form is submitted (the per-IP limit is
    # subscribe_rate_per_minute).
    confirmation_resend_cooldown_minutes: int = Field(default=5, ge=0)
    # How often `serve` runs the reminders and the purge of expired sign-ups.
    maintenance_interval_seconds: float = Field(default=300.0, gt=0)
    # When set, the maintenance writes a signed checkpoint of each sender's
    # consent chain into this folder every consent_checkpoint_interval_hours.
    # Point it at storage the database's administrators cannot rewrite
    # (another host, a write-once bucket mount): that is what makes a rewrite
    # of the whole ledger detectable.
    consent_checkpoint_dir: Path | None = None
    consent_checkpoint_interval_hours: int = Field(default=24, gt=0)
    # An address that accepts unsubscribe requests by email; when set, the
    # List-Unsubscribe header carries a mailto URI after the https one.
    unsubscribe_mailto: str | None = None
    # DKIM signing of Sendguard's own emails (confirmation, reminder,
    # receipt). All three set, or none.
    dkim_domain: str | None = None
    dkim_selector: str | None = None
    dkim_private_key_file: Path | None = None
    # Unsubscribe and preference links must keep working at least 60 days
    # after the send (CASL s. 11(2); CAN-SPAM needs 30): 400 days by default.
    preference_link_ttl_days: int = Field(default=400, ge=60)
    subscribe_rate_per_minute: int = Field(default=20, gt=0)
    # The store of every rate-limit counter, described in RateLimitStore.
    rate_limit_store: RateLimitStore = RateLimitStore.AUTO
    # Reverse proxies whose X-Forwarded-For and X-Forwarded-Proto headers are
    # trusted: comma-separated IP addresses or CIDR networks. Empty, the
    # headers are ignored and the client is the TCP peer, because any client
    # can send them.
    trusted_proxies: str = ""
    # A screening of at least this many addresses (API and pre-send check)
    # builds the sender's in-memory digest index in the background. Smaller
    # ones query the database unless the index is already built, and 0 turns
    # the index off for requests. A build takes about 3.4 s per million
    # entries (docs/benchmarks-suppression.md).
    screen_index_threshold: int = Field(default=20_000, ge=0)
    # `serve --workers N`: uvicorn restarts a worker process that does not
    # reply to its supervisor's health check within this time. A new worker
    # imports the whole application first, which took longer than uvicorn's
    # default 5 s on a busy 2-core host, so workers restarted in a loop.
    serve_worker_healthcheck_seconds: int = Field(default=30, ge=5)
    outbox_poll_seconds: float = Field(default=1.0, gt=0)
    outbox_max_attempts: int = Field(default=8, gt=0)
    # How long a claimed outbox row stays out of other workers' claims. It must
    # be longer than a batch of 20 sends can take (each send is bounded by the
    # 30 s SMTP timeout), or a slow batch can be claimed and sent twice. A
    # worker that stops cleanly releases its claims at once, so the lease only
    # delays the rows of a worker that died.
    outbox_lease_seconds: float = Field(default=1200.0, gt=0)

    # Bounce policy: a soft bounce becomes a confirmed failure (suppressed as a
    # hard bounce) after this many failed sends within the window; a later
    # delivery resets the count, and older bounces decay out of the window.
    bounce_soft_limit: int = Field(default=3, ge=1)
    bounce_soft_window_days: int = Field(default=30, ge=1, le=3650)
    # ESP webhook secrets; an ESP whose secret is empty has its endpoint disabled.
    sendgrid_webhook_public_key: str = ""
    mailgun_webhook_signing_key: SecretStr | None = None
    postmark_webhook_password: SecretStr | None = None
    # Comma-separated SNS topic ARNs whose notifications are accepted.
    ses_topic_arns: str = ""

    # Data-subject requests. The code mailed to a subscriber who makes a
    # request through the public intake: how long it lives and how many tries it allows.
    dsr_code_ttl_minutes: int = Field(default=30, ge=5, le=1440)
    dsr_code_max_attempts: int = Field(default=5, ge=1, le=20)
    # How long the link to an access or portability export works.
    dsr_export_ttl_days: int = Field(default=7, ge=1, le=30)
    # Erasure deletes up to this many delivery and bounce events inside the
    # request. The rest go in background batches of dsr_event_batch_size, and
    # the request completes after the last batch. Each batch is one write
    # transaction, so on SQLite every other writer waits while it runs.
    dsr_inline_event_limit: int = Field(default=500, ge=1, le=100_000)
    dsr_event_batch_size: int = Field(default=5000, ge=1, le=100_000)
    # Processor notifications (Art. 19): retries before the dead-letter state.
    processor_max_attempts: int = Field(default=8, ge=1, le=50)
    processor_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # Processor URLs must be https and resolve to public addresses; tests
    # turn these on to reach fake servers on loopback. Never in production.
    processor_allow_http: bool = False
    processor_allow_private_networks: bool = False

    # Retention (docs/retention.md). Prospects with no contact for three
    # years are purged (CNIL guidance); delivery events after two years; DSR
    # records after five (limitation period, French Civil Code art. 2224).
    retention_prospect_days: int = Field(default=1095, ge=30)
    retention_delivery_event_days: int = Field(default=730, ge=30)
    retention_dsr_days: int = Field(default=1826, ge=365)
    # Sent and dead emails of the outbox (encrypted copies) are deleted this
    # long after they finished, which leaves time to check whether one was sent.
    retention_outbox_days: int = Field(default=30, ge=1)
    retention_interval_hours: int = Field(default=24, gt=0)

    @model_validator(mode="after")
    def _consistent_consent_timing(self) -> Settings:
        if self.confirmation_reminder_after_hours >= self.confirmation_ttl_hours:
            raise ValueError(
                "SENDGUARD_CONFIRMATION_REMINDER_AFTER_HOURS must be smaller than"
                " SENDGUARD_CONFIRMATION_TTL_HOURS, so the reminder leaves time to confirm"
            )
        dkim = (self.dkim_domain, self.dkim_selector, self.dkim_private_key_file)
        if any(value is not None for value in dkim) and None in dkim:
            raise ValueError(
                "set SENDGUARD_DKIM_DOMAIN, SENDGUARD_DKIM_SELECTOR and"
                " SENDGUARD_DKIM_PRIVATE_KEY_FILE together, or none of them"
            )
        return self

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_proxies(cls, value: str) -> str:
        for item in _split_list(value):
            try:
                ipaddress.ip_network(item, strict=True)
            except ValueError:
                raise ValueError(
                    f"SENDGUARD_TRUSTED_PROXIES contains {item!r}, which is not an IP address"
                    " or a CIDR network; list the proxies' addresses, for example"
                    " '127.0.0.1,10.0.0.0/8' (a network's host bits must be zero)"
                ) from None
        return value

    @model_validator(mode="after")
    def _database_rate_limits_need_postgresql(self) -> Settings:
        if self.rate_limit_store is RateLimitStore.DATABASE and not self._on_postgresql:
            raise ValueError(
                "SENDGUARD_RATE_LIMIT_STORE=database needs SENDGUARD_DATABASE_URL to be a"
                " postgresql:// URL; on SQLite set it to 'auto' or 'memory'"
            )
        return self

    @field_validator("default_locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        if value not in ("fr", "en"):
            raise ValueError(f"SENDGUARD_DEFAULT_LOCALE must be 'fr' or 'en', not {value!r}")
        return value

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(
                "SENDGUARD_PUBLIC_URL must start with https:// (or http:// in development)"
            )
        return value.rstrip("/")

    @model_validator(mode="after")
    def _check_production(self) -> Settings:
        if self.env is not Environment.PRODUCTION:
            return self

        if not self.public_url.startswith("https://"):
            raise ValueError(
                "SENDGUARD_PUBLIC_URL must be an https:// URL in production (RFC 8058 links)"
            )
        for name in ("token_secret", "blind_index_keys"):
            value: SecretStr | None = getattr(self, name)
            if value is None:
                raise ValueError(f"SENDGUARD_{name.upper()} is required in production")
            reject_placeholder(f"SENDGUARD_{name.upper()}", value.get_secret_value())
        if self.token_previous_secrets is not None:
            for secret in split_secrets(self.token_previous_secrets.get_secret_value()):
                reject_placeholder("SENDGUARD_TOKEN_PREVIOUS_SECRETS", secret)
        if self.master_key_file is None:
            raise ValueError("SENDGUARD_MASTER_KEY_FILE is required in production")
        if self.metrics_token is not None:
            reject_placeholder("SENDGUARD_METRICS_TOKEN", self.metrics_token.get_secret_value())
        # An empty webhook secret disables its endpoint; a set one must be real,
        # or anyone could post forged bounces and complaints.
        for name in ("mailgun_webhook_signing_key", "postmark_webhook_password"):
            webhook_secret: SecretStr | None = getattr(self, name)
            if webhook_secret is not None and webhook_secret.get_secret_value():
                reject_placeholder(f"SENDGUARD_{name.upper()}", webhook_secret.get_secret_value())
        # Outbound calls to processors must not reach internal services (SSRF).
        if self.processor_allow_http or self.processor_allow_private_networks:
            raise ValueError(
                "SENDGUARD_PROCESSOR_ALLOW_HTTP and SENDGUARD_PROCESSOR_ALLOW_PRIVATE_NETWORKS"
                " are for tests; unset them in production"
            )
        return self

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'sendguard.db'}"

    @property
    def _on_postgresql(self) -> bool:
        return self.resolved_database_url.startswith("postgresql")

    @property
    def resolved_rate_limit_store(self) -> RateLimitStore:
        """The store in use: ``auto`` resolved to ``database`` or ``memory``."""
        if self.rate_limit_store is not RateLimitStore.AUTO:
            return self.rate_limit_store
        return RateLimitStore.DATABASE if self._on_postgresql else RateLimitStore.MEMORY

    @property
    def trusted_proxy_list(self) -> list[str]:
        """The trusted proxies' addresses and networks, normalised."""
        return [str(ipaddress.ip_network(item)) for item in _split_list(self.trusted_proxies)]

    @property
    def resolved_keystore_url(self) -> str:
        return self.keystore_url or f"sqlite:///{self.data_dir / 'keystore.db'}"

    @property
    def resolved_outbox_dir(self) -> Path:
        return self.outbox_dir or self.data_dir / "outbox"

    @property
    def is_development(self) -> bool:
        return self.env is not Environment.PRODUCTION


def split_secrets(text: str) -> list[str]:
    """Split a comma-separated list of secrets and drop blanks, so no secret may contain a comma."""
    return [item.strip() for item in text.split(",") if item.strip()]


def _split_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def reject_placeholder(name: str, secret: str) -> None:
    """Raise ValueError when ``secret`` is empty, a known placeholder or too short."""
    stripped = secret.strip()
    if stripped.lower() in PLACEHOLDER_SECRETS:
        raise ValueError(
            f"{name} is a placeholder value; generate one with `sendguard keys generate`"
        )
    if len(stripped) < MIN_SECRET_LENGTH:
        raise ValueError(
            f"{name} is {len(stripped)} characters long; use at least {MIN_SECRET_LENGTH}"
            " (`sendguard keys generate` prints suitable values)"
        )


@lru_cache
def get_settings() -> Settings:
    return Settings()
