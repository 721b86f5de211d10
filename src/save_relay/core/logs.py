"""Logging: JSON lines or text, per-module levels, and no secret in any line.

``configure(conf, secrets)`` installs one handler on the root logger (stderr). A JSON line carries
``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, every ``extra=`` field of the call
(``action``, ``reference``, ``delivery_id``, ``canvass_id``, ``mailbox``, ...) and ``exc`` for a
traceback. Before a record is written, the password of every URL in its message, its fields and its
traceback becomes ``***`` (``scheme://user:***@host``), and so does every configured secret (database
and smarthost passwords, IMAP passwords) wherever it appears.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

from save_relay.core.settings import LoggingSettings

MASK = "***"
_URL_PASSWORD = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s/:@]*:)(?P<password>[^\s@/]+)@")
_MIN_SECRET = 4  # shorter secrets are masked where they appear in URLs only (else every "a" would go)

# The attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}

# Libraries that log every protocol line at INFO: quiet unless [logging] levels says otherwise.
# httpx: a line per webhook, its URL; aiosqlite: every statement with its parameters at DEBUG (a managed
# webhook's secret, addresses): quiet even when the level is DEBUG, unless [logging] levels names it.
NOISY = ("mail.log", "alembic", "aioimaplib", "httpx", "httpcore", "aiosqlite")


def mask_url_passwords(text: str) -> str:
    """``scheme://user:secret@host`` -> ``scheme://user:***@host``, anywhere in ``text``."""
    return _URL_PASSWORD.sub(lambda m: f"{m.group('head')}{MASK}@", text)


class Masker:
    """Replaces URL passwords and the given secrets in strings (and in nested lists and dicts)."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self.secrets = sorted({s for s in secrets if s and len(s) >= _MIN_SECRET}, key=len, reverse=True)

    def text(self, value: str) -> str:
        value = mask_url_passwords(value)
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.value(v) for v in value]
        if isinstance(value, bool | int | float) or value is None:
            return value
        return self.text(str(value))


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The ``extra=`` fields of a record."""
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")}


def _time(record: logging.LogRecord) -> str:
    stamp = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the extra fields, exc."""

    def __init__(self, masker: Masker | None = None) -> None:
        super().__init__()
        self.masker = masker or Masker()

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": self.masker.text(record.getMessage()),
        }
        for key, value in extra_fields(record).items():
            if key not in line:
                line[key] = self.masker.value(value)
        if record.exc_info:
            line["exc"] = self.masker.text(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exc"] = self.masker.text(record.exc_text)
        if record.stack_info:
            line["stack"] = self.masker.text(self.formatStack(record.stack_info))
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``TIME LEVEL logger: message [key=value ...]``, masked like the JSON lines."""

    def __init__(self, masker: Masker | None = None) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.masker = masker or Masker()

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = extra_fields(record)
        if fields:
            pairs = " ".join(f"{key}={value}" for key, value in fields.items())
            first, newline, rest = text.partition("\n")
            text = f"{first} [{pairs}]{newline}{rest}"
        return self.masker.text(text)


def configure(
    conf: LoggingSettings, secrets: Iterable[str | None] = (), stream: TextIO | None = None
) -> None:
    """Send every log record to ``stream`` (stderr) as ``conf`` says; replaces earlier handlers."""
    masker = Masker(secrets)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(masker) if conf.format == "json" else TextFormatter(masker))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_save_relay", False):
            root.removeHandler(old)
    handler._save_relay = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(conf.level)
    for name in NOISY:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(conf.level)))
    for name, level in conf.levels.items():
        logging.getLogger(name).setLevel(level)
