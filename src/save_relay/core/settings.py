"""Settings: one TOML file, overridden by ``SAVE_RELAY_...`` environment variables, validated by pydantic.

Nested keys use a double underscore in the environment: ``SAVE_RELAY_DATABASE__URL``,
``SAVE_RELAY_SMTP__PORT``. A bad value is reported as one line naming the key (see ``load_settings``).
Relative paths in the file (a SQLite database, the outbox, certificates, demo files) are relative to
the file's folder; relative paths from the environment, to the current folder. ``find_config`` says
which file the command line reads: ``--config``, else ``SAVE_RELAY_CONFIG``, else the first of
``SEARCH_PATH`` that exists.
"""

from __future__ import annotations

import os
import tomllib
import typing
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, PrivateAttr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from save_relay.core.addresses import normalize_address
from save_relay.core.categories import DEFAULT_CATEGORIES, OTHER, Category
from save_relay.core.errors import ConfigError
from save_relay.core.safeguards import FourEyesSettings, GroupSettings
from save_relay.core.sms_settings import SmsSettings
from save_relay.core.states import AccountRole
from save_relay.core.tlp import Label
from save_relay.core.tlp import parse as parse_label
from save_relay.core.webhook_settings import WebhookSettings

ENV_PREFIX = "SAVE_RELAY_"
CONFIG_ENV = ENV_PREFIX + "CONFIG"
# Where the command line looks for its settings without --config or SAVE_RELAY_CONFIG, in this order.
SEARCH_PATH = (Path("save-relay.toml"), Path("/etc/save-relay/save-relay.toml"))
SQLITE_PREFIX = "sqlite+aiosqlite:///"
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class _Section(BaseModel):
    model_config = {"extra": "forbid"}


class DatabaseSettings(_Section):
    """Where the queue lives."""

    url: str = Field(
        "sqlite+aiosqlite:///var/save-relay.sqlite3",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db",
    )
    pool_size: int = Field(10, ge=1, le=200, description="connections per process (PostgreSQL)")

    @field_validator("url")
    @classmethod
    def _supported(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value


class SmtpSettings(_Section):
    """The inbound SMTP listener."""

    enabled: bool = True
    host: str = Field("127.0.0.1", description="address to listen on")
    port: int = Field(2525, ge=0, le=65535, description="0 picks a free port (tests)")
    hostname: str = Field("save-relay.localdomain", description="name in the greeting and in Message-IDs")
    max_message_size: int = Field(25 * 1024 * 1024, ge=1024, description="bytes; advertised with SIZE")
    max_recipients: int = Field(20, ge=1, le=1000, description="RCPT TO per message")
    timeout: float = Field(120.0, gt=0, description="seconds an idle client may wait between commands")
    tls_cert_file: Path | None = Field(None, description="PEM certificate chain: offer STARTTLS")
    tls_key_file: Path | None = Field(None, description="PEM private key for tls_cert_file")
    require_starttls: bool = Field(False, description="refuse MAIL before STARTTLS (needs a certificate)")
    max_connections_per_ip: int = Field(
        20, ge=1, description="open connections per client address; more get 421 4.7.0 (per process)"
    )
    max_messages_per_sender_per_hour: int = Field(
        60, ge=1, description="messages per envelope sender and per client address; more get 450 4.7.1"
    )
    rate_limit_exempt: list[str] = Field(
        default_factory=lambda: ["127.0.0.1", "::1"],
        description="client addresses exempt from the two limits above (a local MTA in front)",
    )

    @model_validator(mode="after")
    def _tls_pair(self) -> SmtpSettings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file go together")
        if self.require_starttls and self.tls_cert_file is None:
            raise ValueError("require_starttls needs tls_cert_file and tls_key_file")
        return self


class OutboundSettings(_Section):
    """How mail leaves the relay."""

    mode: Literal["maildir", "smtp"] = Field(
        "maildir", description="maildir: write to a local outbox; smtp: hand to the smarthost"
    )
    maildir: Path = Field(Path("var/outbox"), description="the outbox for mode = maildir")
    smarthost_host: str = "127.0.0.1"
    smarthost_port: int = Field(25, ge=1, le=65535)
    smarthost_starttls: bool = False
    smarthost_username: str | None = None
    smarthost_password: str | None = None
    connections: int = Field(8, ge=1, le=100, description="SMTP connections kept open in parallel")
    batch_size: int = Field(500, ge=1, le=10_000, description="deliveries claimed per round")
    max_attempts: int = Field(12, ge=1, description="tries before a deferred delivery fails")
    retry_base_seconds: float = Field(60.0, gt=0, description="first retry delay; doubles per attempt")
    retry_max_seconds: float = Field(6 * 3600.0, gt=0, description="cap on the retry delay")
    lease_seconds: float = Field(300.0, gt=0, description="a claimed delivery is re-claimable after this")
    idle_poll_seconds: float = Field(1.0, gt=0, description="how often an idle worker looks for work")
    timeout: float = Field(60.0, gt=0, description="SMTP timeout towards the smarthost")


IMAP_KEYWORD = r"^[A-Za-z0-9$_.-]{1,64}$"
LOOPBACK_HOSTS = ("localhost", "::1")


class ImapSettings(_Section):
    """A hosted mailbox (Exchange, Microsoft 365, Dovecot) the relay reads: ``[networks.<key>.imap]``.

    Folder names use ``/`` for their hierarchy whatever the server's separator; one of ``password`` and
    ``oauth2_token_command`` (XOAUTH2, for Microsoft 365) is required.
    """

    enabled: bool = True
    host: str = Field(description="the IMAP server, e.g. outlook.office365.com")
    port: int | None = Field(None, ge=1, le=65535, description="default: 993 for implicit TLS, else 143")
    tls: Literal["implicit", "starttls", "plain"] = Field(
        "implicit", description="implicit (993), starttls (143) or plain (loopback tests only)"
    )
    ca_file: Path | None = Field(None, description="CA bundle to verify the server (default: the system's)")
    user: str = Field(min_length=1, description="the login, e.g. industrie@politie.lommel.be")
    password: str | None = None
    oauth2_token_command: str | None = Field(
        None, description="XOAUTH2: a command (no shell) that prints a current access token"
    )
    folder: str = Field("INBOX", min_length=1, description="the folder to watch")
    after: Literal["move", "flag"] = Field(
        "move", description="after the commit: move to move_to, or flag \\Seen plus flag_keyword"
    )
    move_to: str = Field("save-relay/processed", min_length=1)
    reject_to: str = Field("save-relay/rejected", min_length=1, description="mail over smtp.max_message_size")
    flag_keyword: str = Field("save-relay-processed", pattern=IMAP_KEYWORD)
    reject_keyword: str = Field("save-relay-rejected", pattern=IMAP_KEYWORD)
    idle: bool = Field(True, description="use IDLE where the server offers it")
    idle_renew_seconds: float = Field(300.0, gt=0, le=1740, description="re-issue IDLE (and heartbeat)")
    poll_seconds: float = Field(60.0, gt=0, description="polling interval without IDLE")
    timeout: float = Field(30.0, gt=0, description="seconds to wait for a connection or a command")
    backoff_base_seconds: float = Field(1.0, gt=0, description="first reconnect delay; doubles per failure")
    backoff_max_seconds: float = Field(300.0, gt=0, description="cap on the reconnect delay")
    auth_retry_seconds: float = Field(60.0, ge=0, description="least delay after a refused login")

    @model_validator(mode="after")
    def _consistent(self) -> ImapSettings:
        if (self.password is None) == (self.oauth2_token_command is None):
            raise ValueError("set exactly one of password and oauth2_token_command")
        if self.tls == "plain" and not (self.host.startswith("127.") or self.host.lower() in LOOPBACK_HOSTS):
            raise ValueError("tls = plain is only allowed on loopback (tests); use implicit or starttls")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or (993 if self.tls == "implicit" else 143)

    @property
    def account(self) -> str:
        return f"{self.user}@{self.host}:{self.effective_port}"


class LmtpSettings(_Section):
    """The LMTP listener for a local MTA (Postfix's lmtp transport).

    Size, recipient and timeout limits and the greeting name are those of ``[smtp]``.
    """

    enabled: bool = False
    host: str = Field("127.0.0.1", description="address to listen on")
    port: int = Field(2424, ge=0, le=65535, description="0 picks a free port (tests)")
    unix_path: Path | None = Field(None, description="listen on this Unix socket instead of host:port")
    unix_mode: int = Field(0o660, ge=0, le=0o777, description="permissions of the Unix socket")


class NetworkSettings(_Section):
    """One relay address with its moderators."""

    address: str = Field(description="the network's address, e.g. industrie@politie.lommel.be")
    name: str = Field(description="display name, e.g. SaVE Lommel")
    reference_prefix: str = Field("SAVE", pattern=r"^[A-Z][A-Z0-9]{1,9}$")
    language: Literal["nl", "en", "fr", "de"] = "nl"
    timezone: str = "Europe/Brussels"
    moderators: list[str] = Field(min_length=1, description="police addresses allowed to moderate")
    totp_roles: list[AccountRole] = Field(
        default_factory=lambda: [AccountRole.MODERATOR, AccountRole.ADMIN],
        description="console roles that must log in with a TOTP code besides the password",
    )
    default_groups: list[str] = Field(default_factory=list, description="groups that get every report")
    confirm_ttl_hours: float = Field(7 * 24.0, gt=0, description="lifetime of a reply-to-approve token")
    send_acknowledgements: bool = True
    followup_days: float = Field(
        90.0, gt=0, description="lifetime of the follow-up reply address of a distribution copy or an ack"
    )
    ack_per_sender_per_hour: int = Field(
        5, ge=0, description="acks per unknown address per hour (all networks; subscribers: always)"
    )
    require_dkim: bool = Field(
        False, description="moderator replies need an aligned DKIM pass or a trusted Authentication-Results"
    )
    imap: ImapSettings | None = Field(None, description="read a hosted mailbox (IMAP)")
    canvass_answers: Literal["each", "digest"] = Field(
        "each", description="canvass answers to the owner: each as it arrives, or in a digest"
    )
    categories: list[Category] = Field(
        default_factory=lambda: list(DEFAULT_CATEGORIES),
        description="incident categories (statistics); the defaults: theft, copper theft, burglary, ...",
    )
    notification_attachments_max_bytes: int = Field(
        10 * 1024 * 1024,
        ge=0,
        description="the report's photos (as subscribers will get them) attached to the moderators' "
        "notification up to this total; beyond it they are listed with the command that fetches each",
    )
    tlp: Label = Field(
        Label.AMBER,
        description="the TLP label of a report whose reporter set none (CLEAR, GREEN, AMBER, ...)",
    )
    groups: dict[str, GroupSettings] = Field(
        default_factory=dict,
        description="per group slug, whether it is internal; not listed: internal if in default_groups",
    )
    four_eyes: FourEyesSettings = Field(
        default_factory=FourEyesSettings, description="what needs a second moderator's approval"
    )
    monthly_report: Literal["off", "moderators", "subscribers"] = Field(
        "moderators",
        description="the month's statistics by mail on the 1st: to the moderators, or also to the "
        "subscribers (each sees only their own zones' figures, never a reporter)",
    )
    webhooks: list[WebhookSettings] = Field(
        default_factory=list, description="signed webhook endpoints (Standard Webhooks): control rooms"
    )
    webhook_http_loopback: bool = Field(
        False,
        description="endpoints managed in the database (CLI, CSV, console) may be http:// to 127.0.0.1, "
        "::1 or localhost (a receiver on this machine, tests); otherwise they must be https://",
    )
    monthly_test: bool = Field(
        False,
        description="once a month, a test message (marked as an exercise) to the moderators and a "
        "network.test event to every enabled webhook endpoint: shows that both paths work",
    )
    phone_region: str = Field(
        "BE", pattern=r"^[A-Z]{2}$", description="the country of mobile numbers written without +32 etc."
    )
    sms: SmsSettings | None = Field(None, description="the SMS gateway of urgent distributions")

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        normalized = normalize_address(value)
        if normalized is None or "+" in value.split("@", 1)[0]:
            raise ValueError(f"not a plain e-mail address: {value!r}")
        return normalized.lower()

    @field_validator("moderators")
    @classmethod
    def _moderators(cls, values: list[str]) -> list[str]:
        out = []
        for value in values:
            normalized = normalize_address(value)
            if normalized is None:
                raise ValueError(f"not an e-mail address: {value!r}")
            out.append(normalized.lower())
        return out

    @field_validator("categories")
    @classmethod
    def _categories(cls, values: list[Category]) -> list[Category]:
        slugs = [c.slug for c in values]
        if len(set(slugs)) != len(slugs):
            raise ValueError("each category slug only once")
        if OTHER not in slugs:
            values = [*values, next(c for c in DEFAULT_CATEGORIES if c.slug == OTHER)]
        return values

    @field_validator("webhooks")
    @classmethod
    def _webhook_names(cls, values: list[WebhookSettings]) -> list[WebhookSettings]:
        names = [w.name for w in values]
        if len(set(names)) != len(names):
            raise ValueError("each webhook name only once per network")
        return values

    def webhook(self, name: str) -> WebhookSettings | None:
        return next((w for w in self.webhooks if w.name == name), None)

    def category(self, slug: str) -> Category | None:
        return next((c for c in self.categories if c.slug == slug), None)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("tlp", mode="before")
    @classmethod
    def _tlp(cls, value: object) -> object:
        """``amber``, ``TLP:AMBER`` and ``AMBER`` alike."""
        return (parse_label(value) or value) if isinstance(value, str) else value

    def internal_group(self, slug: str) -> bool:
        """Whether a group belongs to the network's own organisation (TLP:AMBER+STRICT may reach it)."""
        listed = self.groups.get(slug)
        return listed.internal if listed is not None else slug in self.default_groups

    @property
    def local_part(self) -> str:
        return self.address.rsplit("@", 1)[0]

    @property
    def domain(self) -> str:
        return self.address.rsplit("@", 1)[1]


class SchedulerSettings(_Section):
    """Scheduled work: canvasses, moderation reminders, report expiry, delivery retries."""

    enabled: bool = Field(True, description="run the scheduler in this daemon")
    tick_seconds: float = Field(5.0, gt=0, le=3600, description="how often due work is looked for")
    moderation_reminder_hours: float = Field(
        24.0, ge=0, description="remind the moderators of a report pending this long (0: never)"
    )
    report_expiry_days: float = Field(
        14.0, ge=0, description="expire a report pending this long and tell the reporter (0: never)"
    )
    canvass_digest_hours: float = Field(
        24.0, gt=0, description="interval of the answer digest (networks with canvass_answers = digest)"
    )


class HttpSettings(_Section):
    """The HTTP side (uvicorn in the daemon): one-click unsubscribes (RFC 8058), /healthz, the console."""

    enabled: bool = Field(
        True, description="serve it in this process; off with public_url set: links still go to public_url"
    )
    host: str = Field("127.0.0.1", description="address to listen on (put a TLS proxy in front of it)")
    port: int = Field(8025, ge=0, le=65535, description="0 picks a free port (tests)")
    public_url: str | None = Field(
        None,
        description="the URL the listener is reached at from outside, e.g. https://relay.example.be; "
        "unset: http://HOST:PORT",
    )
    timeout: float = Field(10.0, gt=0, description="seconds a client may take to send its request")
    max_request_bytes: int = Field(8192, ge=1024, le=1_048_576, description="request line, headers, body")

    @field_validator("public_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must start with https:// or http://")
        return value.rstrip("/") if value else None


class MetricsSettings(_Section):
    """The operations listener: ``/metrics`` (Prometheus), ``/healthz`` and ``/readyz``.

    A listener of its own, on loopback by default, so that the TLS proxy in front of ``[http]`` never
    publishes it; a bearer token guards ``/metrics`` when it must listen wider.
    """

    enabled: bool = Field(True, description="serve /metrics, /healthz and /readyz on host:port")
    host: str = Field("127.0.0.1", description="address to listen on (loopback: only this machine scrapes)")
    port: int = Field(9925, ge=0, le=65535, description="0 picks a free port (tests)")
    bearer_token: str | None = Field(
        None, min_length=16, description="if set, /metrics needs 'Authorization: Bearer <token>'"
    )


class ConsoleSettings(_Section):
    """The web console's accounts and sessions (``save-relay users``)."""

    session_idle_minutes: float = Field(30.0, gt=0, description="a session unused this long ends")
    session_absolute_hours: float = Field(12.0, gt=0, description="a session ends this long after login")
    login_failures: int = Field(5, ge=1, description="failed logins in a row before the account waits")
    lockout_seconds: float = Field(300.0, ge=0, description="how long it waits then")
    map_tiles: str = Field(
        "",
        description="a tile URL template (https://tile.example/{z}/{x}/{y}.png) drawn under the zones on a "
        "report's map; empty: the zones alone, and the browser asks no other server",
    )
    map_attribution: str = Field("", description="the tiles' attribution, shown on the map")


class BounceSettings(_Section):
    """Bounce scores (as Mailman keeps them): past the threshold an address is disabled."""

    permanent_score: float = Field(1.0, ge=0, description="added for a permanent failure (5.x.x)")
    temporary_score: float = Field(0.25, ge=0, description="added for a temporary failure (4.x.x)")
    threshold: float = Field(3.0, gt=0, description="score at which the address is disabled")
    half_life_days: float = Field(7.0, gt=0, description="a score halves after this many days")


class RetentionSettings(_Section):
    """How long personal data is kept; 0 keeps it forever. Reports on an evidence hold are kept."""

    reports_days: int = Field(365, ge=0, description="raw reports (the received mail) and their text")
    canvass_answers_days: int = Field(365, ge=0, description="answers to canvasses")
    deliveries_days: int = Field(90, ge=0, description="delivery logs, bounces and other inbound mail")


class PrivacySettings(_Section):
    """Disclosures of evidence and personal data, and erased addresses kept out."""

    default_reason: str | None = Field(
        None,
        min_length=3,
        description="the reason recorded for a disclosing command run without --reason (automation); "
        "unset: --reason is required",
    )
    suppression_key: str | None = Field(
        None,
        min_length=16,
        description="secret for the keyed hashes (HMAC-SHA256) of erased addresses on the suppression "
        "list; unset: derived from the database URL (set it when the database URL is no secret)",
    )


class LoggingSettings(_Section):
    """What the daemon and the command line log, and how (stderr)."""

    format: Literal["text", "json"] = Field(
        "text", description="text: one readable line per event; json: one JSON object per line"
    )
    level: LogLevel = Field("INFO", description="the least level written")
    levels: dict[str, LogLevel] = Field(
        default_factory=dict,
        description='levels per logger, e.g. {"save_relay.intake" = "DEBUG", "aioimaplib" = "INFO"}',
    )


class StatusSettings(_Section):
    """Each daemon's heartbeat in the ``nodes`` table, and what ``save-relay status`` calls stuck."""

    heartbeat_seconds: float = Field(
        10.0, gt=0, le=3600, description="a daemon writes its heartbeat this often; alive = seen within 3"
    )
    stuck_after_seconds: float = Field(
        900.0,
        gt=0,
        description="critical when a delivery has waited this long and none was sent in this time",
    )


class DemoSettings(_Section):
    """Files loaded by ``save-relay init --demo``."""

    network: str = "industrie"
    zones: Path = Path("config/zones.geojson")
    subscribers: Path = Path("config/subscribers.csv")


class Settings(BaseSettings):
    """All of save-relay's settings."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    node_name: str = Field("node-1", description="this process's name in leases and logs")
    subaddress_delimiter: str = Field("+", min_length=1, max_length=1, pattern=r"^[+\-_=]$")
    trusted_authserv_ids: list[str] = Field(
        default_factory=list,
        description="authserv-ids of Authentication-Results headers written by our own MTA (require_dkim)",
    )
    logging: LoggingSettings = LoggingSettings()
    status: StatusSettings = StatusSettings()
    database: DatabaseSettings = DatabaseSettings()
    smtp: SmtpSettings = SmtpSettings()
    lmtp: LmtpSettings = LmtpSettings()
    outbound: OutboundSettings = OutboundSettings()
    networks: dict[str, NetworkSettings] = Field(default_factory=dict)
    http: HttpSettings = HttpSettings()
    metrics: MetricsSettings = MetricsSettings()
    console: ConsoleSettings = ConsoleSettings()
    bounces: BounceSettings = BounceSettings()
    retention: RetentionSettings = RetentionSettings()
    privacy: PrivacySettings = PrivacySettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    demo: DemoSettings = DemoSettings()
    _config_file: Path | None = PrivateAttr(None)

    @model_validator(mode="before")
    @classmethod
    def _old_log_level(cls, data: Any) -> Any:
        """``log_level`` (before [logging] existed) is ``logging.level``."""
        if isinstance(data, dict) and "log_level" in data:
            data = dict(data)
            level = data.pop("log_level")
            section = dict(data.get("logging") or {})
            section.setdefault("level", level)
            data["logging"] = section
        return data

    @property
    def config_file(self) -> Path | None:
        """The TOML file these settings were read from (None: defaults and environment only)."""
        return self._config_file

    def secrets(self) -> list[str]:
        """Every password in the settings, for the log masking (``core.logs``)."""
        found = [self.outbound.smarthost_password, self.metrics.bearer_token]
        password = urlsplit(self.database.url).password
        if password:
            found += [password, unquote(password)]
        found += [n.imap.password for n in self.networks.values() if n.imap is not None]
        found.append(self.privacy.suppression_key)
        found += [w.secret.get_secret_value() for n in self.networks.values() for w in n.webhooks]
        found += [s for n in self.networks.values() if n.sms is not None for s in n.sms.secrets()]
        return [s for s in found if s]

    @model_validator(mode="after")
    def _unique_addresses(self) -> Settings:
        seen: dict[str, str] = {}
        for key, network in self.networks.items():
            if network.address in seen:
                raise ValueError(f"networks.{key}.address is also used by networks.{seen[network.address]}")
            seen[network.address] = key
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment overrides the file, whose values arrive as init arguments.
        return (env_settings, init_settings)

    def network_for(self, address: str) -> tuple[str, NetworkSettings] | None:
        """The network whose plain address is ``address`` (lower-cased, no sub-address)."""
        for key, network in self.networks.items():
            if network.address == address:
                return key, network
        return None


def _format_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "(settings)"
    message = first["msg"].removeprefix("Value error, ")
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{key}: {message}{more}"


def find_config(path: Path | str | None = None) -> Path | None:
    """The settings file of a command: ``path``, else ``SAVE_RELAY_CONFIG``, else the first of
    ``SEARCH_PATH`` that exists (None: none; the defaults and the environment apply)."""
    if path is not None:
        return Path(path)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    return next((candidate for candidate in SEARCH_PATH if candidate.is_file()), None)


def load_settings(path: Path | str | None = None, **overrides: Any) -> Settings:
    """Read the TOML file (if any), apply the environment and ``overrides``.

    Relative paths in the file are made relative to its folder. Raises ConfigError with one line naming
    the bad key.
    """
    data: dict[str, Any] = {}
    if path is None and os.environ.get(CONFIG_ENV):
        path = os.environ[CONFIG_ENV]
    file = Path(path) if path is not None else None
    if file is not None:
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file not found: {file}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: {exc}") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read config file {file}: {exc}") from exc
        resolve_paths(Settings, data, Path(os.path.abspath(file)).parent)
    _merge(data, overrides)
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_format_error(exc)) from exc
    settings._config_file = Path(os.path.abspath(file)) if file is not None else None
    return settings


def resolve_sqlite_url(url: str, base: Path) -> str:
    """A SQLite URL with a relative path, made relative to ``base``; any other URL as it is."""
    if not url.startswith(SQLITE_PREFIX):
        return url
    rest = url.removeprefix(SQLITE_PREFIX)
    database, question, query = rest.partition("?")
    if not database or database.startswith(("/", ":memory:")):
        return url
    return f"{SQLITE_PREFIX}{os.path.normpath(base / database)}{question}{query}"


def _is_path(annotation: Any) -> bool:
    return annotation is Path or Path in typing.get_args(annotation)


def _model(annotation: Any) -> type[BaseModel] | None:
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def resolve_paths(model: type[BaseModel], data: dict[str, Any], base: Path) -> None:
    """Make the relative paths of ``data`` (TOML for ``model``) relative to ``base``, in place: every
    field typed ``Path`` (in every section, every network) and the SQLite database URL."""
    for key, value in data.items():
        field = model.model_fields.get(key)
        if field is None:
            continue  # an unknown key: the validation names it
        annotation = field.annotation
        if model is DatabaseSettings and key == "url" and isinstance(value, str):
            data[key] = resolve_sqlite_url(value, base)
        elif _is_path(annotation) and isinstance(value, str):
            path = Path(value).expanduser()
            data[key] = str(path if path.is_absolute() else os.path.normpath(base / path))
        elif isinstance(value, dict) and typing.get_origin(annotation) is dict:
            item = _model(typing.get_args(annotation)[1])  # [networks.<key>]
            for entry in value.values():
                if item is not None and isinstance(entry, dict):
                    resolve_paths(item, entry, base)
        elif isinstance(value, dict) and (section := _model(annotation)) is not None:
            resolve_paths(section, value, base)


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
