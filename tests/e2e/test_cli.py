"""The real ``save-relay`` console script as a subprocess: init, serve, the moderation queue, config errors.

Everything runs the way an operator runs it: a TOML file, a temporary working directory, the daemon in
its own process on a loopback port it picks itself (``smtp.port = 0``; the port is read from its
"save-relay started: smtp://HOST:PORT" log line), reports sent with ``smtplib``, and the Maildir outbox
read from disk. ``tests/test_wheel.py`` reuses these helpers against a freshly installed wheel.
"""

from __future__ import annotations

import csv
import email
import email.policy
import email.utils
import json
import os
import re
import signal
import smtplib
import socket
import sqlite3
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar, cast

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_CONFIG = ROOT / "config" / "save-relay.example.toml"
ZONES_FILE = ROOT / "config" / "zones.geojson"
SUBSCRIBERS_FILE = ROOT / "config" / "subscribers.csv"
SAVE_RELAY = Path(sys.executable).parent / "save-relay"

REPORTER = "security@metaalwerken-vos.example"  # also a subscriber in the demo data
REFERENCE = re.compile(r"SAVE-\d{4}-\d{6}")
STARTED = re.compile(r"save-relay started: smtp://([0-9.]+):(\d+)")

T = TypeVar("T")


# --------------------------------------------------------------------------------------------------
# helpers (also used by tests/test_wheel.py)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any SAVE_RELAY_* setting or PYTHONPATH of the developer's shell."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("SAVE_RELAY_") and key not in {"PYTHONPATH", "PYTHONHOME"}
    }
    env.update(extra)
    return env


def relay_config(workdir: Path) -> dict[str, Any]:
    """The example configuration, pointed at files under ``workdir`` and the repo's demo data."""
    data = tomllib.loads(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    data["database"]["url"] = f"sqlite+aiosqlite:///{workdir / 'relay.sqlite3'}"
    data["smtp"]["port"] = 0  # the daemon picks a free port and logs it
    data.setdefault("http", {})["port"] = 0  # the one-click unsubscribe listener, on a free port too
    data.setdefault("metrics", {})["port"] = 0  # and the operations listener
    data["smtp"]["hostname"] = "relay.test"
    data["outbound"]["maildir"] = str(workdir / "outbox")
    data["outbound"]["idle_poll_seconds"] = 0.2  # a CLI approval (another process) is seen by polling
    data["demo"]["zones"] = str(ZONES_FILE)
    data["demo"]["subscribers"] = str(SUBSCRIBERS_FILE)
    # the example sends its moderators a monthly test message at the first start: two mails more in
    # every outbox these tests count (tests/e2e/test_monthly_test.py turns it on)
    data["networks"]["industrie"]["monthly_test"] = False
    return data


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"no TOML for {value!r}")


def dump_toml(data: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> str:
    """Enough TOML for our settings: scalars, lists and (nested) tables."""
    lines = [f"{key} = {_toml_value(value)}" for key, value in data.items() if not isinstance(value, dict)]
    for key, value in data.items():
        if isinstance(value, dict):
            name = (*prefix, key)
            lines.append(f"\n[{'.'.join(name)}]")
            lines.append(dump_toml(value, name))
    return "\n".join(lines)


def write_config(path: Path, data: Mapping[str, Any]) -> Path:
    text = dump_toml(data) + "\n"
    assert tomllib.loads(text) == data  # the dumper wrote what we meant
    path.write_text(text, encoding="utf-8")
    return path


def run_cli(
    config: Path | None,
    *args: str,
    cwd: Path,
    exe: Path = SAVE_RELAY,
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    command = [str(exe)] + (["--config", str(config)] if config is not None else []) + list(args)
    return subprocess.run(
        command,
        cwd=cwd,
        env=dict(env) if env is not None else clean_env(),
        **({"input": input} if input is not None else {"stdin": subprocess.DEVNULL}),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    """stdout of a command that must succeed."""
    assert result.returncode == 0, f"{result.args} exited {result.returncode}:\n{result.stderr}"
    return result.stdout


def wait_until(predicate: Callable[[], T], what: str, timeout: float = 20.0, interval: float = 0.05) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(interval)


class Daemon:
    """``save-relay serve`` in its own process; stdout and stderr go to files in ``cwd``."""

    def __init__(self, config: Path, cwd: Path, exe: Path = SAVE_RELAY) -> None:
        self.stdout_file = cwd / "serve.stdout"
        self.stderr_file = cwd / "serve.stderr"
        with self.stdout_file.open("wb") as out, self.stderr_file.open("wb") as err:
            self.proc = subprocess.Popen(
                [str(exe), "--config", str(config), "serve"],
                cwd=cwd,
                env=clean_env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
        self.host, self.port = self._wait_started()

    def stderr(self) -> str:
        return self.stderr_file.read_text(encoding="utf-8", errors="replace")

    def _wait_started(self, timeout: float = 30.0) -> tuple[str, int]:
        def started() -> re.Match[str] | None:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited {self.proc.returncode}:\n{self.stderr()}")
            return STARTED.search(self.stderr())

        match = wait_until(started, "the daemon logs 'save-relay started'", timeout)
        return match.group(1), int(match.group(2))

    def terminate(self, timeout: float = 10.0) -> int:
        """SIGTERM, then the exit code (fails the test if it does not stop within ``timeout``)."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"serve did not stop within {timeout} s of SIGTERM") from None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    """Collects the daemons a test starts and kills any it left running."""
    started: list[Daemon] = []
    yield started
    for daemon in started:
        daemon.kill()


def send_report(
    host: str,
    port: int,
    to: str,
    sender: str = REPORTER,
    subject: str = "Witte bestelwagen aan de poort",
    body: str = "Vannacht om 03:00 stond een witte bestelwagen aan onze poort.\n",
) -> str:
    """Post a report over SMTP; returns the reference from the 250 answer."""
    message = EmailMessage()
    message["From"] = f"Jan Vos <{sender}>"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = email.utils.make_msgid(domain="metaalwerken-vos.example")
    message.set_content(body)
    with smtplib.SMTP(host, port, timeout=10) as client:
        client.ehlo("client.test")
        code, text = client.mail(sender)
        assert code == 250, text
        code, text = client.rcpt(to)
        assert code == 250, text
        code, text = client.data(message.as_bytes(policy=email.policy.SMTP))
    answer = text.decode()
    assert code == 250, answer
    match = REFERENCE.search(answer)
    assert match, answer
    return match.group(0)


def outbox(maildir: Path) -> list[EmailMessage]:
    """The messages in ``maildir/new``, oldest first (Maildir names start with the time in ns)."""
    folder = maildir / "new"
    if not folder.is_dir():
        return []
    return [
        cast(EmailMessage, email.message_from_bytes(path.read_bytes(), policy=email.policy.default))
        for path in sorted(folder.iterdir())
    ]


def wait_for_outbox(maildir: Path, count: int, timeout: float = 20.0) -> list[EmailMessage]:
    messages = wait_until(
        lambda: found if len(found := outbox(maildir)) >= count else None,
        f"{count} message(s) in {maildir}/new",
        timeout,
    )
    return messages


def delivered_to(message: EmailMessage) -> str:
    return str(message["Delivered-To"]).lower()


def demo_counts() -> tuple[int, int]:
    """(zones, subscribers) in the repo's demo files, counted independently of the loader."""
    zones = len(json.loads(ZONES_FILE.read_text(encoding="utf-8"))["features"])
    with SUBSCRIBERS_FILE.open(newline="", encoding="utf-8") as handle:
        subscribers = sum(1 for _ in csv.DictReader(handle))
    return zones, subscribers


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got:\n{stderr}"
    assert "Traceback" not in stderr
    return lines[0]


# --------------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def settings_data(workdir: Path) -> dict[str, Any]:
    return relay_config(workdir)


@pytest.fixture
def config(workdir: Path, settings_data: dict[str, Any]) -> Path:
    return write_config(workdir / "save-relay.toml", settings_data)


@pytest.fixture
def initialised(config: Path, workdir: Path) -> Path:
    ok(run_cli(config, "init", "--demo", cwd=workdir))
    return config


# --------------------------------------------------------------------------------------------------
# init


def test_init_demo_prints_the_network_and_counts_and_is_idempotent(
    config: Path, workdir: Path, settings_data: dict[str, Any]
) -> None:
    zones, subscribers = demo_counts()
    network = settings_data["networks"]["industrie"]["address"]

    outputs = [ok(run_cli(config, "init", "--demo", cwd=workdir)) for _ in range(2)]

    for output in outputs:
        assert f"network industrie: {network}" in output
        assert f"demo data: {zones} zones, {subscribers} subscribers" in output
    assert outputs[0] == outputs[1]
    database = workdir / "relay.sqlite3"
    assert database.is_file()
    with closing(sqlite3.connect(database)) as db:
        assert db.execute("SELECT count(*) FROM zones").fetchone()[0] == zones
        assert db.execute("SELECT count(*) FROM subscribers").fetchone()[0] == subscribers
        assert db.execute("SELECT count(*) FROM networks").fetchone()[0] == 1
    assert not (workdir / "var").exists()  # nothing written outside the configured paths


# --------------------------------------------------------------------------------------------------
# serve + queue


def test_serve_report_approve_by_cli_and_sigterm(
    initialised: Path, workdir: Path, settings_data: dict[str, Any], daemons: list[Daemon]
) -> None:
    network = settings_data["networks"]["industrie"]
    moderators = {address.lower() for address in network["moderators"]}
    maildir = workdir / "outbox"
    daemons.append(daemon := Daemon(initialised, workdir))

    reference = send_report(daemon.host, daemon.port, network["address"])

    # The acknowledgement to the reporter and one notification per moderator.
    announced = wait_for_outbox(maildir, 1 + len(moderators))
    assert len(announced) == 1 + len(moderators)
    assert sorted(delivered_to(m) for m in announced) == sorted({REPORTER, *moderators})
    assert all(reference in str(m["Subject"]) for m in announced)

    listed = ok(run_cli(initialised, "queue", "list", cwd=workdir))
    assert re.search(rf"^{reference}\s+pending\b", listed, re.MULTILINE), listed

    shown = ok(run_cli(initialised, "queue", "show", reference, cwd=workdir))
    assert re.search(rf"^sender:\s+.*<{re.escape(REPORTER)}>", shown, re.MULTILINE), shown
    assert "witte bestelwagen aan onze poort" in shown

    approved = ok(run_cli(initialised, "queue", "approve", reference, cwd=workdir))
    match = re.search(rf"{reference} approved: (\d+) recipient\(s\)", approved)
    assert match, approved
    recipients = int(match.group(1))
    assert recipients > 0

    told = len(moderators) + 1  # each moderator's decision notice (a CLI decision), the reporter's outcome
    everything = wait_for_outbox(maildir, len(announced) + recipients + told)
    distributed = [m for m in everything[len(announced) :] if m["List-Id"]]
    outcomes = [m for m in everything[len(announced) :] if not m["List-Id"]]
    assert sorted(delivered_to(m) for m in outcomes) == sorted({REPORTER, *moderators})
    assert len(distributed) == recipients
    addresses = [delivered_to(m) for m in distributed]
    assert len(set(addresses)) == recipients, addresses
    for message in distributed:
        assert message["X-Save-Relay-Reference"] == reference
        assert network["address"] in str(message["From"])
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        assert "Jan Vos" not in body.get_content()  # the reporter is not named without --credit

    def recorded() -> dict[str, Any] | None:
        info: dict[str, Any] = json.loads(
            ok(run_cli(initialised, "queue", "show", reference, "--json", cwd=workdir))
        )
        return info if info["deliveries"] == {"sent": recipients} else None

    info = wait_until(recorded, "the deliveries are recorded as sent")
    assert info["reference"] == reference
    assert info["status"] == "approved"
    assert any(" report_received " in line for line in info["history"]), info["history"]
    assert any(" report_approved " in line and " via cli" in line for line in info["history"])

    refused = run_cli(initialised, "queue", "reject", reference, "--reason", "te laat", cwd=workdir)
    assert refused.returncode == 1
    assert "already approved" in one_line(refused.stderr)
    assert refused.stdout == ""
    again = json.loads(ok(run_cli(initialised, "queue", "show", reference, "--json", cwd=workdir)))
    assert again["status"] == "approved"
    assert again["reason"] is None

    assert len(outbox(maildir)) == len(announced) + recipients + told  # nothing sent twice
    listed = ok(run_cli(initialised, "queue", "list", cwd=workdir))
    assert listed == "pending reports: none (1 approved; --all lists every report)\n"
    assert daemon.terminate() == 0
    log = daemon.stderr()
    assert "Traceback" not in log
    assert "ERROR" not in log


def test_reject_a_second_pending_report(
    initialised: Path, workdir: Path, settings_data: dict[str, Any], daemons: list[Daemon]
) -> None:
    network = settings_data["networks"]["industrie"]
    maildir = workdir / "outbox"
    daemons.append(daemon := Daemon(initialised, workdir))

    first = send_report(daemon.host, daemon.port, network["address"])
    second = send_report(
        daemon.host, daemon.port, network["address"], subject="Nogmaals die bestelwagen", body="Dubbel.\n"
    )
    assert first != second
    announced = wait_for_outbox(maildir, 2 * (1 + len(network["moderators"])))

    rejected = ok(run_cli(initialised, "queue", "reject", second, "--reason", "dubbel", cwd=workdir))
    assert rejected.strip() == f"{second} rejected"

    info = json.loads(ok(run_cli(initialised, "queue", "show", second, "--json", cwd=workdir)))
    assert info["status"] == "rejected"
    assert info["reason"] == "dubbel"
    assert info["deliveries"] == {}
    assert any(" report_rejected " in line for line in info["history"]), info["history"]

    pending = ok(run_cli(initialised, "queue", "list", cwd=workdir))
    assert first in pending
    assert second not in pending
    every = ok(run_cli(initialised, "queue", "list", "--all", cwd=workdir))
    assert re.search(rf"^{second}\s+rejected\b", every, re.MULTILINE), every
    assert re.search(rf"^{first}\s+pending\b", every, re.MULTILINE), every

    missing = run_cli(initialised, "queue", "show", "SAVE-1999-999999", cwd=workdir)
    assert missing.returncode == 1
    assert "no report SAVE-1999-999999" in one_line(missing.stderr)

    told = len(network["moderators"]) + 1  # the decision notices and the reporter's outcome
    after = wait_for_outbox(maildir, len(announced) + told)
    time.sleep(0.5)  # > idle_poll_seconds: a rejected report must not be sent anywhere
    assert len(outbox(maildir)) == len(announced) + told
    assert not any(m["List-Id"] for m in after)
    assert daemon.terminate() == 0


# --------------------------------------------------------------------------------------------------
# configuration errors


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    *parents, key = path.split(".")

    def change(data: dict[str, Any]) -> None:
        for part in parents:
            data = data[part]
        data[key] = value

    return change


@pytest.mark.parametrize(
    ("change", "env", "expected"),
    [
        pytest.param(_set("smtp.port", 99999), {}, "smtp.port", id="port-out-of-range"),
        pytest.param(None, {"SAVE_RELAY_SMTP__PORT": "abc"}, "smtp.port", id="port-from-env"),
        pytest.param(_set("smtp.bogus", 1), {}, "smtp.bogus", id="unknown-key"),
        pytest.param(
            _set("networks.industrie.moderators", ["inspecteur.peeters@politie.lommel.be", "niet-geldig"]),
            {},
            "networks.industrie.moderators",
            id="bad-moderator",
        ),
        pytest.param(
            _set("database.url", "mysql://relay@db/relay"), {}, "database.url", id="unsupported-database"
        ),
        pytest.param(_set("logging.level", "LOUD"), {}, "logging.level", id="bad-log-level"),
        pytest.param(_set("logging.format", "xml"), {}, "logging.format", id="bad-log-format"),
    ],
)
def test_a_bad_setting_stops_with_one_line_naming_the_key(
    workdir: Path,
    settings_data: dict[str, Any],
    change: Callable[[dict[str, Any]], None] | None,
    env: dict[str, str],
    expected: str,
) -> None:
    if change is not None:
        change(settings_data)
    config = write_config(workdir / "bad.toml", settings_data)

    result = run_cli(config, "serve", cwd=workdir, env=clean_env(**env), timeout=30)

    assert result.returncode == 1, result.stdout + result.stderr
    line = one_line(result.stderr)
    assert line.startswith("save-relay: config error: "), line
    assert f" {expected}: " in line, line
    assert result.stdout == ""
    assert not (workdir / "relay.sqlite3").exists()


def test_a_missing_config_file_is_one_clear_line(workdir: Path) -> None:
    missing = workdir / "nowhere.toml"
    for result in (
        run_cli(missing, "serve", cwd=workdir, timeout=30),
        run_cli(None, "serve", cwd=workdir, env=clean_env(SAVE_RELAY_CONFIG=str(missing)), timeout=30),
    ):
        assert result.returncode == 1
        line = one_line(result.stderr)
        assert line == f"save-relay: config error: config file not found: {missing}", line


def test_a_toml_syntax_error_is_one_line_naming_the_file(workdir: Path) -> None:
    config = workdir / "broken.toml"
    config.write_text('[smtp]\nport = "2525\n', encoding="utf-8")

    result = run_cli(config, "serve", cwd=workdir, timeout=30)

    assert result.returncode == 1
    line = one_line(result.stderr)
    assert line.startswith(f"save-relay: config error: {config}: "), line


# --------------------------------------------------------------------------------------------------
# operator mistakes: one line, never a traceback


@pytest.mark.parametrize("kind", ["directory", "not-utf8"])
def test_an_unreadable_config_file_is_one_line(workdir: Path, kind: str) -> None:
    if kind == "directory":
        config = workdir / "conf.d"
        config.mkdir()
    else:
        config = workdir / "latin1.toml"
        config.write_bytes('node_name = "café"\n'.encode("latin-1"))

    result = run_cli(config, "serve", cwd=workdir, timeout=30)

    assert result.returncode == 1
    assert one_line(result.stderr).startswith("save-relay: config error: ")


def test_init_demo_with_a_missing_demo_file_is_one_line(workdir: Path, settings_data: dict[str, Any]) -> None:
    settings_data["demo"]["zones"] = str(workdir / "missing.geojson")
    config = write_config(workdir / "save-relay.toml", settings_data)

    result = run_cli(config, "init", "--demo", cwd=workdir)

    assert result.returncode == 1
    assert "missing.geojson" in one_line(result.stderr)


def test_serve_on_a_busy_port_is_one_line(initialised: Path, workdir: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = clean_env(SAVE_RELAY_SMTP__PORT=str(port))
        result = run_cli(initialised, "serve", cwd=workdir, env=env, timeout=30)

    assert result.returncode == 1
    assert "address already in use" in one_line(result.stderr)
