"""The real daemon (``save-relay serve`` in its own process) on a real Dovecot: SIGKILLed again and again
while it takes mail in, it never loses nor duplicates a message; ``save-relay status`` tells its health."""

from __future__ import annotations

import email.policy
import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from tests.e2e.test_cli import Daemon, daemons, ok, relay_config, run_cli, wait_until, write_config
from tests.helpers import report_message
from tests.imap.dovecot import PASSWORD, USER, Dovecot

__all__ = ["daemons"]  # the fixture, re-used

REPORTER = "security@metaalwerken-vos.example"


def raw_report(n: int) -> bytes:
    message = report_message(subject=f"melding {n}", body=f"Waarneming nummer {n}.\n")
    return b"Return-Path: <" + REPORTER.encode() + b">\r\n" + message.as_bytes(policy=email.policy.SMTP)


def stored_hashes(database: Path) -> list[str]:
    with sqlite3.connect(database) as db:
        return [row[0] for row in db.execute("SELECT sha256 FROM inbound_messages WHERE via = 'imap'")]


@pytest.mark.slow
def test_daemon_killed_repeatedly_while_taking_mail_in(
    tmp_path: Path, dovecot: Dovecot, daemons: list[Daemon]
) -> None:
    data = relay_config(tmp_path)
    data["networks"]["industrie"]["imap"] = {
        "host": "127.0.0.1",
        "port": dovecot.port,
        "tls": "plain",
        "user": USER,
        "password": PASSWORD,
        "timeout": 5,
        "backoff_base_seconds": 0.1,
        "backoff_max_seconds": 0.5,
    }
    config = write_config(tmp_path / "relay.toml", data)
    database = tmp_path / "relay.sqlite3"
    ok(run_cli(config, "init", cwd=tmp_path))

    never = run_cli(config, "status", cwd=tmp_path)
    assert never.returncode == 2 and "NEVER CONNECTED" in never.stdout

    delivered: list[bytes] = []
    for cycle in range(4):
        batch = [raw_report(cycle * 100 + n) for n in range(15)]
        for raw in batch:  # a backlog waits in the mailbox ...
            dovecot.append_sync(raw)
        delivered += batch
        before = len(stored_hashes(database))
        workdir = tmp_path / f"cycle-{cycle}"  # each run's log in its own folder
        workdir.mkdir()
        daemon = Daemon(config, workdir)
        daemons.append(daemon)
        assert f"imap://{USER}@127.0.0.1:{dovecot.port}/INBOX" in daemon.stderr()
        wait_until(
            lambda before=before: len(stored_hashes(database)) > before,
            "the daemon takes mail in",
            interval=0.002,
        )
        daemon.kill()  # ... and the daemon is SIGKILLed while it works through it

    daemon = Daemon(config, tmp_path)
    daemons.append(daemon)
    wait_until(lambda: not dovecot.messages_sync("INBOX"), "the INBOX is emptied")
    hashes = stored_hashes(database)
    assert sorted(hashes) == sorted(hashlib.sha256(raw).hexdigest() for raw in delivered)
    processed = {body for _, body in dovecot.messages_sync("save-relay/processed").values()}
    assert processed == set(delivered)

    status = run_cli(config, "status", cwd=tmp_path)
    assert status.returncode == 0, status.stdout + status.stderr
    assert "imap industrie: OK" in status.stdout and f"last UID {len(delivered)}" in status.stdout
    as_json = json.loads(ok(run_cli(config, "status", "--json", cwd=tmp_path)))
    mailbox = as_json["mailboxes"][0]
    assert as_json["status"] == "ok" and mailbox["health"] == "ok" and mailbox["messages"] == len(delivered)

    assert daemon.terminate() == 0
    stopped = run_cli(config, "status", cwd=tmp_path)
    assert stopped.returncode == 2 and "STOPPED" in stopped.stdout


def test_status_shows_a_login_failure(tmp_path: Path, dovecot: Dovecot, daemons: list[Daemon]) -> None:
    data = relay_config(tmp_path)
    data["networks"]["industrie"]["imap"] = {
        "host": "127.0.0.1",
        "port": dovecot.port,
        "tls": "plain",
        "user": USER,
        "password": "not-the-password",
        "backoff_base_seconds": 0.1,
        "auth_retry_seconds": 0.2,
    }
    config = write_config(tmp_path / "relay.toml", data)
    ok(run_cli(config, "init", cwd=tmp_path))
    daemon = Daemon(config, tmp_path)
    daemons.append(daemon)
    wait_until(lambda: "login failed" in daemon.stderr(), "the daemon logs the refused login")
    status = run_cli(config, "status", cwd=tmp_path)
    assert status.returncode == 2
    assert status.stdout.startswith("SAVE-RELAY CRITICAL: imap industrie: BACKOFF")
    assert "imap industrie: BACKOFF" in status.stdout and "login failed" in status.stdout
    assert "AUTHENTICATIONFAILED" in status.stdout
