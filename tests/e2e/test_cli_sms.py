"""SMS from the command line (issue 21), the real ``save-relay`` as subprocesses against an SMSC on
loopback: ``subscribers sms``/``add --sms``, ``queue approve --urgent --sms``, ``queue show`` with its
receipts."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_cli import (
    Daemon,
    daemons,  # noqa: F401 (the fixture)
    relay_config,
    run_cli,
    send_report,
    wait_until,
    write_config,
)
from tests.smsc_support import PASSWORD, Smsc

VOS = "Metaalwerken Vos NV"


@pytest.fixture
def smsc() -> Iterator[Smsc]:
    """The SMSC in a thread of its own (the daemon is another process)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(Smsc().start(), loop).result(10)
    yield server
    asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


@pytest.fixture
def config(tmp_path: Path, smsc: Smsc) -> Path:
    data: dict[str, Any] = relay_config(tmp_path)
    data["networks"]["industrie"]["sms"] = smsc.settings(rate=50)
    return write_config(tmp_path / "save-relay.toml", data)


def sr(config: Path, *args: str, code: int = 0) -> tuple[str, str]:
    result = run_cli(config, *args, cwd=config.parent)
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and PASSWORD not in result.stdout + result.stderr
    return result.stdout, result.stderr


def test_numbers_urgent_approval_and_receipts_in_queue_show(
    config: Path,
    smsc: Smsc,
    daemons: list[Daemon],  # noqa: F811
) -> None:
    sr(config, "init", "--demo")
    _, err = sr(config, "subscribers", "sms", VOS, "0470 11 11 11", "0470 12", code=1)
    assert "invalid mobile number '0470 12' (invalid)" in err
    out, _ = sr(config, "subscribers", "sms", VOS, "0470 11 11 11")
    assert f"{VOS}: SMS to +32470111111" in out
    out, _ = sr(
        config,
        "subscribers",
        "add",
        "--company",
        "Bakkerij Lommel",
        "--address",
        "b@bakkerij.example",
        "--sms",
        "+31 6 12345678",
    )
    assert "new subscriber Bakkerij Lommel" in out
    shown, _ = sr(config, "subscribers", "show", VOS)
    assert re.search(r"^sms:\s+\+32470111111$", shown, re.MULTILINE), shown
    exported, _ = sr(config, "subscribers", "export")
    assert exported.splitlines()[0].endswith(",sms") and "+31612345678" in exported

    daemons.append(daemon := Daemon(config, config.parent))
    reference = send_report(daemon.host, daemon.port, "industrie@politie.lommel.be")
    approved, _ = sr(
        config, "queue", "approve", reference, "--urgent", "--sms", "Let op: wit busje 1-ABC-123"
    )
    assert f"{reference} approved" in approved and ", 1 SMS" in approved
    wait_until(lambda: smsc.texts("+32470111111"), "the SMS at the SMSC", 20)
    assert smsc.texts("+32470111111") == [f"{reference}: Let op: wit busje 1-ABC-123"]

    def receipt() -> str | None:
        out, _ = sr(config, "queue", "show", reference)
        return out if "receipt DELIVRD" in out else None

    shown = wait_until(receipt, "the receipt in queue show", 20)
    assert re.search(r"^sms:\n  \+32470111111 sent, receipt DELIVRD \d{4}-", shown, re.MULTILINE), shown
    assert daemon.terminate() == 0
    assert PASSWORD not in daemon.stderr()
