"""Settings: one TOML file, overridden by ``SAVE_RELAY_...`` environment variables, validated by pydantic.

Nested keys use a double underscore in the environment: ``SAVE_RELAY_DATABASE__URL``,
``SAVE_RELAY_SMTP__PORT``. A bad value is reported as one line naming the key (see ``load_settings``).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from save_relay.errors import ConfigError
from save_relay.mail.addresses import normalize_address

ENV_PREFIX = "SAVE_RELAY_"


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


class NetworkSettings(_Section):
    """One relay address with its moderators."""

    address: str = Field(description="the network's address, e.g. industrie@politie.lommel.be")
    name: str = Field(description="display name, e.g. SaVE Lommel")
    reference_prefix: str = Field("SAVE", pattern=r"^[A-Z][A-Z0-9]{1,9}$")
    language: Literal["nl", "en", "fr"] = "nl"
    timezone: str = "Europe/Brussels"
    moderators: list[str] = Field(min_length=1, description="police addresses allowed to moderate")
    default_groups: list[str] = Field(default_factory=list, description="groups that get every report")
    confirm_ttl_hours: float = Field(7 * 24.0, gt=0, description="lifetime of a reply-to-approve token")
    send_acknowledgements: bool = True

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

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def local_part(self) -> str:
        return self.address.rsplit("@", 1)[0]

    @property
    def domain(self) -> str:
        return self.address.rsplit("@", 1)[1]


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
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    database: DatabaseSettings = DatabaseSettings()
    smtp: SmtpSettings = SmtpSettings()
    outbound: OutboundSettings = OutboundSettings()
    networks: dict[str, NetworkSettings] = Field(default_factory=dict)
    demo: DemoSettings = DemoSettings()

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


def load_settings(path: Path | str | None = None, **overrides: Any) -> Settings:
    """Read the TOML file (if any), apply the environment and ``overrides``.

    Raises ConfigError with one line naming the bad key.
    """
    data: dict[str, Any] = {}
    if path is None and os.environ.get(ENV_PREFIX + "CONFIG"):
        path = os.environ[ENV_PREFIX + "CONFIG"]
    if path is not None:
        file = Path(path)
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file not found: {file}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: {exc}") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read config file {file}: {exc}") from exc
    _merge(data, overrides)
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_format_error(exc)) from exc


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
