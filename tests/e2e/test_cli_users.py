"""``save-relay users add | list | disable | enable | reset`` as an operator runs them (subprocesses)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pyotp
import pytest

from tests.e2e.test_cli import relay_config, run_cli, write_config

LOGIN = "inspecteur.peeters@politie.lommel.be"


@pytest.fixture
def cli(tmp_path: Path) -> tuple[Path, Path]:
    config = write_config(tmp_path / "save-relay.toml", relay_config(tmp_path))
    assert run_cli(config, "init", cwd=tmp_path).returncode == 0
    return config, tmp_path


def sr(cli: tuple[Path, Path], *args: str, code: int = 0, stdin: str | None = None) -> tuple[str, str]:
    result = run_cli(cli[0], *args, cwd=cli[1], input=stdin)
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result.stdout, result.stderr


def _uri(out: str) -> pyotp.TOTP:
    found = re.search(r"TOTP: (otpauth://\S+)", out)
    assert found, out
    totp = pyotp.parse_uri(found.group(1))
    assert isinstance(totp, pyotp.TOTP)
    return totp


def test_add_list_disable_reset(cli: tuple[Path, Path]) -> None:
    out, _ = sr(cli, "users", "add", LOGIN.upper().replace("POLITIE", "politie"), "--role", "moderator")
    assert f"account {LOGIN} added (moderator)" in out
    password = re.search(r"password: (\S+)", out)
    assert password and len(password.group(1)) >= 12
    totp = _uri(out)  # moderators need TOTP by default (totp_roles)
    assert LOGIN in (totp.name or "") and totp.issuer

    out, _ = sr(
        cli,
        "users",
        "add",
        "coord@politie.lommel.be",
        "--role",
        "coordinator",
        "--language",
        "fr",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert "password:" not in out and "TOTP:" not in out  # given, and coordinators need no TOTP

    _, err = sr(cli, "users", "add", LOGIN, code=1)
    assert f"an account '{LOGIN}' exists already" in err and len(err.strip().splitlines()) == 1
    _, err = sr(cli, "users", "add", "not an address", code=1)
    assert "invalid login 'not an address'" in err
    _, err = sr(cli, "users", "add", "x@politie.lommel.be", "--password-stdin", stdin="short\n", code=1)
    assert "at least 12 characters" in err
    _, err = sr(cli, "users", "add", "x@politie.lommel.be", "--role", "boss", code=2)
    assert "boss" in err

    listed, _ = sr(cli, "users", "list")
    lines = listed.splitlines()
    assert any(
        LOGIN in line and "moderator" in line and "totp" in line and "active" in line for line in lines
    )
    assert any("coord@" in line and " fr " in line and "no-totp" in line for line in lines)

    assert "disabled" in sr(cli, "users", "disable", LOGIN)[0]
    assert any(LOGIN in line and "disabled" in line for line in sr(cli, "users", "list")[0].splitlines())
    assert "enabled" in sr(cli, "users", "enable", LOGIN)[0]
    _, err = sr(cli, "users", "disable", "nobody@politie.lommel.be", code=1)
    assert "no account 'nobody@politie.lommel.be'" in err

    out, _ = sr(cli, "users", "reset", LOGIN)
    assert _uri(out).secret != totp.secret  # a new secret, shown once

    db = sqlite3.connect(cli[1] / "relay.sqlite3")
    try:
        hashes = [row[0] for row in db.execute("SELECT password_hash FROM accounts")]
        assert all(h.startswith("$argon2id$") for h in hashes)
        actions = [row[0] for row in db.execute("SELECT action FROM audit_log WHERE action LIKE 'account.%'")]
    finally:
        db.close()
    assert actions == ["account.add", "account.add", "account.disable", "account.enable", "account.reset"]
