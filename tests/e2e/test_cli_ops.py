"""The console script as an operator meets it (issue 20): it finds its settings, paths in the settings
file are relative to that file, a command that reads never creates a database, mistakes are one line,
JSON logs carry their fields, and a database password never shows.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from save_relay.store.migrate import head_revision
from tests.e2e.test_cli import (
    EXAMPLE_CONFIG,
    SUBSCRIBERS_FILE,
    ZONES_FILE,
    Daemon,
    clean_env,
    daemons,
    ok,
    one_line,
    relay_config,
    run_cli,
    send_report,
    wait_for_outbox,
    write_config,
)

__all__ = ["daemons"]  # the fixture, re-used

PASSWORD = "Geheim-Wachtwoord-7731"
HEAD = head_revision()


@pytest.fixture
def etc(tmp_path: Path) -> Path:
    """A settings folder with relative paths only: the example settings and the demo files."""
    folder = tmp_path / "etc"
    folder.mkdir()
    shutil.copy(EXAMPLE_CONFIG, folder / "save-relay.toml")
    shutil.copy(ZONES_FILE, folder / "zones.geojson")
    shutil.copy(SUBSCRIBERS_FILE, folder / "subscribers.csv")
    return folder


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


READING = [
    ("queue", "list"),
    ("queue", "show", "SAVE-2026-000001"),
    ("subscribers", "list"),
    ("zones", "list"),
    ("canvass", "list"),
]


def test_reading_commands_never_create_a_database(etc: Path, elsewhere: Path, tmp_path: Path) -> None:
    config = etc / "save-relay.toml"
    database = tmp_path / "var" / "save-relay.sqlite3"  # ../var/ of the example, from etc/

    for command in READING:
        result = run_cli(config, *command, cwd=elsewhere)
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        assert one_line(result.stderr) == (
            f"save-relay: no database at {database}: run save-relay init (settings: {config})"
        )
    checked = run_cli(config, "status", cwd=elsewhere)
    assert checked.returncode == 2 and checked.stderr == ""
    assert (
        checked.stdout.strip()
        == f"SAVE-RELAY CRITICAL: no database at {database}: run save-relay init" + (f" (settings: {config})")
    )
    assert not database.parent.exists()
    assert list(elsewhere.iterdir()) == []


def test_paths_are_relative_to_the_settings_file_and_the_file_is_found(
    etc: Path, elsewhere: Path, tmp_path: Path
) -> None:
    config = etc / "save-relay.toml"
    initialised = ok(run_cli(config, "init", "--demo", cwd=elsewhere))
    database = tmp_path / "var" / "save-relay.sqlite3"
    assert f"database ready: sqlite+aiosqlite:///{database}" in initialised
    assert "demo data: 7 zones" in initialised
    assert database.is_file() and list(elsewhere.iterdir()) == []

    by_env = run_cli(None, "queue", "list", cwd=elsewhere, env=clean_env(SAVE_RELAY_CONFIG=str(config)))
    assert ok(by_env) == "pending reports: none\n"
    shutil.copy(config, elsewhere / "save-relay.toml")  # ./save-relay.toml: its ../var/ is the same
    assert ok(run_cli(None, "queue", "list", cwd=elsewhere)) == "pending reports: none\n"


def test_without_settings_a_command_says_what_it_looked_for(elsewhere: Path) -> None:
    result = run_cli(None, "queue", "list", cwd=elsewhere)
    assert result.returncode == 1
    assert one_line(result.stderr).startswith(
        f"save-relay: no database at {elsewhere / 'var' / 'save-relay.sqlite3'}: run save-relay init "
        "(settings: no settings file (give --config, set SAVE_RELAY_CONFIG, or create one of "
        "./save-relay.toml, /etc/save-relay/save-relay.toml))"
    )
    assert list(elsewhere.iterdir()) == []


def test_no_networks_configured_is_said_so(elsewhere: Path) -> None:
    config = write_config(elsewhere / "bare.toml", {"database": {"url": "sqlite+aiosqlite:///relay.sqlite3"}})
    ok(run_cli(config, "init", cwd=elsewhere))

    result = run_cli(config, "subscribers", "show", "jan@example.org", cwd=elsewhere)

    assert result.returncode == 1
    assert one_line(result.stderr) == (
        f"save-relay: no networks configured ([networks.<key>]); settings: {config}"
    )


def test_queue_list_refuses_a_bogus_status_and_says_what_it_lists(etc: Path, elsewhere: Path) -> None:
    config = etc / "save-relay.toml"
    ok(run_cli(config, "init", cwd=elsewhere))

    bogus = run_cli(config, "queue", "list", "--status", "bogus", cwd=elsewhere)

    assert bogus.returncode == 2 and bogus.stdout == ""
    line = one_line(bogus.stderr)
    assert line.startswith("save-relay queue list: Invalid value for '--status': 'bogus' is not one of ")
    assert "'pending', 'approved', 'rejected', 'expired', 'shunted', 'discarded'" in line
    assert ok(run_cli(config, "queue", "list", "--status", "approved", cwd=elsewhere)) == (
        "approved reports: none\n"
    )
    assert ok(run_cli(config, "queue", "list", "--all", cwd=elsewhere)) == "reports: none\n"
    unknown = run_cli(config, "queue", "lst", cwd=elsewhere)
    assert unknown.returncode == 2 and "No such command 'lst'" in one_line(unknown.stderr)


def test_db_upgrade_takes_the_revision_and_an_old_schema_is_named(etc: Path, elsewhere: Path) -> None:
    config = etc / "save-relay.toml"

    assert "at 0007" in ok(run_cli(config, "db", "upgrade", "0007", cwd=elsewhere))
    old = run_cli(config, "queue", "list", cwd=elsewhere)
    assert old.returncode == 1
    assert one_line(old.stderr) == (
        f"save-relay: the database is at schema 0007, this save-relay needs {HEAD}: run save-relay db upgrade"
    )
    assert "at head" in ok(run_cli(config, "db", "upgrade", cwd=elsewhere))
    assert ok(run_cli(config, "queue", "list", cwd=elsewhere)) == "pending reports: none\n"


def test_an_unexpected_error_is_one_line_and_debug_shows_the_traceback(
    elsewhere: Path,
) -> None:
    config = write_config(
        elsewhere / "pg.toml",
        {"database": {"url": f"postgresql+asyncpg://relay:{PASSWORD}@127.0.0.1:1/relay"}},
    )
    for debug in ([], ["--debug"]):
        result = run_cli(None, "--config", str(config), *debug, "queue", "list", cwd=elsewhere)
        assert result.returncode == 1
        assert PASSWORD not in result.stdout + result.stderr
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith(
            "save-relay: cannot open the database postgresql+asyncpg://relay:***@127.0.0.1:1"
        ), last
        if debug:
            assert "Traceback" in result.stderr
        else:
            one_line(result.stderr)


# --------------------------------------------------------------------------------------------------
# JSON logs and the database password, on SQLite and PostgreSQL


def with_password(db_url: str) -> str:
    """The test database's URL with a password (PostgreSQL on trust accepts any)."""
    url = make_url(db_url)
    if url.get_backend_name() != "postgresql":
        return db_url
    return url.set(password=PASSWORD).render_as_string(hide_password=False)


def json_lines(stderr: str) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    for record in records:
        assert {"time", "level", "logger", "message"} <= set(record), record
    return records


def test_json_logs_carry_their_fields_and_no_password_shows(
    db_url: str, tmp_path: Path, daemons: list[Daemon]
) -> None:
    url = with_password(db_url)
    data = relay_config(tmp_path)
    data["database"]["url"] = url
    data["logging"] = {"format": "json", "level": "INFO"}
    data["status"] = {"heartbeat_seconds": 1}
    config = write_config(tmp_path / "relay.toml", data)
    outputs: list[str] = []

    def cli(*args: str) -> str:
        result = run_cli(config, *args, cwd=tmp_path)
        outputs.extend([result.stdout, result.stderr])
        return ok(result)

    initialised = cli("init", "--demo")
    if url != db_url:
        assert "database ready: postgresql+asyncpg://postgres:***@" in initialised
    daemons.append(daemon := Daemon(config, tmp_path))
    address = data["networks"]["industrie"]["address"]
    reference = send_report(daemon.host, daemon.port, address)
    wait_for_outbox(tmp_path / "outbox", 1 + len(data["networks"]["industrie"]["moderators"]))
    assert re.search(rf"^{reference}\s+pending\b", cli("queue", "list"), re.MULTILINE)
    assert cli("status").startswith("SAVE-RELAY OK: 1 node(s) alive (node-1)")
    approved = run_cli(config, "queue", "approve", reference, cwd=tmp_path)
    outputs += [approved.stdout, approved.stderr]
    assert f"{reference} approved" in ok(approved)
    assert daemon.terminate() == 0
    logged = daemon.stderr()
    outputs.append(logged)
    stopped = run_cli(config, "status", "--json", cwd=tmp_path)  # critical now: the node stopped
    outputs += [stopped.stdout, stopped.stderr]
    assert stopped.returncode == 2 and json.loads(stopped.stdout)["nodes"][0]["state"] == "stopped"

    records = json_lines(logged)
    stored = next(r for r in records if r.get("action") == "intake_stored")
    assert stored["reference"] == reference and stored["references"] == [reference]
    assert stored["via"] == "smtp" and isinstance(stored["inbound_ids"][0], int)
    batch = next(r for r in records if r.get("action") == "outbound_batch")
    assert batch["sent"] >= 1 and batch["not_sent"] == 0 and batch["delivery_ids"] == []
    assert any(r.get("action") == "started" for r in records)
    decided = next(r for r in json_lines(approved.stderr) if r.get("action") == "report_approved")
    assert decided["reference"] == reference and decided["actor"].startswith("cli:")
    for text in outputs:
        assert PASSWORD not in text
