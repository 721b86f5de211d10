"""``core.logs``: JSON lines with the extra fields, text lines, per-logger levels, and no password in
any line; the settings' search path and relative paths."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from save_relay.core import logs
from save_relay.core.settings import LoggingSettings, find_config, load_settings

PASSWORD = "Zeer-Geheim-42"
URL = f"postgresql+asyncpg://relay:{PASSWORD}@db.example:5432/relay"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """Our handler on the root logger, writing into a buffer; removed afterwards."""
    buffer = io.StringIO()
    yield buffer
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_save_relay", False):
            root.removeHandler(handler)
    for name in ("save_relay.test.quiet", "save_relay.test.loud", *logs.NOISY):
        logging.getLogger(name).setLevel(logging.NOTSET)
    root.setLevel(logging.WARNING)


def lines(buffer: io.StringIO) -> list[str]:
    return [line for line in buffer.getvalue().splitlines() if line]


def test_a_json_line_has_time_level_logger_message_and_every_extra_field(stream: io.StringIO) -> None:
    logs.configure(LoggingSettings(format="json"), stream=stream)
    log = logging.getLogger("save_relay.test")

    log.info(
        "SAVE-2026-000001 approved by %s",
        "cli:jan",
        extra={"action": "report_approved", "reference": "SAVE-2026-000001", "recipients": 44},
    )

    (line,) = lines(stream)
    record = json.loads(line)
    assert record["level"] == "INFO" and record["logger"] == "save_relay.test"
    assert record["message"] == "SAVE-2026-000001 approved by cli:jan"
    assert record["action"] == "report_approved" and record["reference"] == "SAVE-2026-000001"
    assert record["recipients"] == 44
    assert record["time"].endswith("Z") and "T" in record["time"]


def test_an_exception_is_one_json_line_with_its_traceback(stream: io.StringIO) -> None:
    logs.configure(LoggingSettings(format="json"), stream=stream)
    try:
        raise RuntimeError("kapot")
    except RuntimeError:
        logging.getLogger("save_relay.test").exception("round failed", extra={"action": "x"})

    (line,) = lines(stream)
    record = json.loads(line)
    assert record["level"] == "ERROR" and "RuntimeError: kapot" in record["exc"]


@pytest.mark.parametrize("form", ["json", "text"])
def test_a_password_never_appears_in_message_fields_or_traceback(stream: io.StringIO, form: str) -> None:
    logs.configure(LoggingSettings(format=form), secrets=[PASSWORD], stream=stream)
    log = logging.getLogger("save_relay.test")

    log.warning("cannot connect to %s", URL, extra={"url": URL, "nested": {"dsn": [URL]}})
    log.warning("the password was %s", PASSWORD)  # a secret outside a URL: masked too
    log.warning("smarthost smtp://relay:other-secret@mx.example:25 refused")  # any URL's password
    try:
        raise ConnectionError(f"refused: {URL}")
    except ConnectionError:
        log.exception("database away")

    output = stream.getvalue()
    assert PASSWORD not in output and "other-secret" not in output
    assert "postgresql+asyncpg://relay:***@db.example:5432/relay" in output
    assert "smtp://relay:***@mx.example:25" in output
    if form == "json":
        assert all(json.loads(line) for line in lines(stream))


def test_text_lines_carry_the_fields_too(stream: io.StringIO) -> None:
    logs.configure(LoggingSettings(format="text"), stream=stream)
    logging.getLogger("save_relay.test").info("sent", extra={"action": "outbound_batch", "delivery_ids": [7]})

    (line,) = lines(stream)
    assert " INFO save_relay.test: sent [action=outbound_batch delivery_ids=[7]]" in line


def test_levels_per_logger(stream: io.StringIO) -> None:
    conf = LoggingSettings(
        format="json", level="WARNING", levels={"save_relay.test.loud": "DEBUG", "aioimaplib": "INFO"}
    )
    logs.configure(conf, stream=stream)

    logging.getLogger("save_relay.test.quiet").info("not written")
    logging.getLogger("save_relay.test.loud").debug("written")
    logging.getLogger("aioimaplib").info("written too")
    logging.getLogger("mail.log").warning("aiosmtpd's warnings pass")
    logging.getLogger("mail.log").info("aiosmtpd's protocol lines do not")

    assert [json.loads(line)["message"] for line in lines(stream)] == [
        "written",
        "written too",
        "aiosmtpd's warnings pass",
    ]


def test_mask_url_passwords_keeps_urls_without_one() -> None:
    assert (
        logs.mask_url_passwords("sqlite+aiosqlite:////var/x.sqlite3") == "sqlite+aiosqlite:////var/x.sqlite3"
    )
    assert logs.mask_url_passwords("http://user@host/x") == "http://user@host/x"
    assert logs.mask_url_passwords("a postgresql://u:p%40ss@h/d b") == "a postgresql://u:***@h/d b"


# --------------------------------------------------------------------------------------------------
# settings: relative paths, the old log_level, the search path, the secrets


def test_relative_paths_in_a_file_are_relative_to_its_folder(tmp_path: Path) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "relay.toml").write_text(
        """
[database]
url = "sqlite+aiosqlite:///../var/relay.sqlite3"
[outbound]
maildir = "outbox"
[smtp]
tls_cert_file = "tls/cert.pem"
tls_key_file = "/abs/key.pem"
[demo]
zones = "zones.geojson"
[networks.industrie]
address = "industrie@politie.lommel.be"
name = "SaVE"
moderators = ["m@politie.lommel.be"]
[networks.industrie.imap]
host = "imap.example"
user = "u"
password = "pw-of-imap"
ca_file = "ca.pem"
""",
        encoding="utf-8",
    )

    conf = load_settings(folder / "relay.toml")

    assert conf.database.url == f"sqlite+aiosqlite:///{tmp_path / 'var' / 'relay.sqlite3'}"
    assert conf.outbound.maildir == folder / "outbox"
    assert conf.smtp.tls_cert_file == folder / "tls" / "cert.pem"
    assert conf.smtp.tls_key_file == Path("/abs/key.pem")
    assert conf.demo.zones == folder / "zones.geojson"
    imap = conf.networks["industrie"].imap
    assert imap is not None and imap.ca_file == folder / "ca.pem"
    assert conf.config_file == folder / "relay.toml"
    assert "pw-of-imap" in conf.secrets()


def test_paths_from_the_environment_stay_relative_to_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "relay.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("SAVE_RELAY_DATABASE__URL", f"postgresql+asyncpg://relay:{PASSWORD}@db/relay")
    monkeypatch.setenv("SAVE_RELAY_OUTBOUND__MAILDIR", "var/outbox")

    conf = load_settings(tmp_path / "relay.toml")

    assert conf.outbound.maildir == Path("var/outbox")
    assert PASSWORD in conf.secrets()


def test_the_old_log_level_is_logging_level(tmp_path: Path) -> None:
    (tmp_path / "relay.toml").write_text('log_level = "DEBUG"\n', encoding="utf-8")
    assert load_settings(tmp_path / "relay.toml").logging.level == "DEBUG"


def test_find_config_search_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SAVE_RELAY_CONFIG", raising=False)
    explicit = tmp_path / "given.toml"
    assert find_config(explicit) == explicit
    monkeypatch.setenv("SAVE_RELAY_CONFIG", "/somewhere/else.toml")
    assert find_config() == Path("/somewhere/else.toml")
    monkeypatch.delenv("SAVE_RELAY_CONFIG")
    if not Path("/etc/save-relay/save-relay.toml").exists():
        assert find_config() is None
    (tmp_path / "save-relay.toml").write_text("", encoding="utf-8")
    assert find_config() == Path("save-relay.toml")
