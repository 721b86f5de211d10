"""``save-relay -c FILE serve`` in a child process, with a config file generated from a Settings object.

The child is the real daemon, started as an operator would start it, so that its peak RSS and CPU
time are its own (read from /proc by the bench, see ``bench.procstat``). Its log goes to a file next
to the config; the start-up line tells when it is ready.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

from bench import procstat
from save_relay.core.settings import ENV_PREFIX, Settings

READY = "save-relay started:"


def _value(value: Any) -> str:
    """A TOML value: JSON's literals are TOML's; a dict inside a list is an inline table."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return json.dumps(value)


def toml_text(data: dict[str, Any], table: str = "") -> str:
    """TOML for nested dicts of strings, numbers, booleans and lists (of these or of dicts)."""
    tables = {key: value for key, value in data.items() if isinstance(value, dict) and value}
    lines = [f"{key} = {_value(value)}" for key, value in data.items() if key not in tables]
    if table and lines:
        lines.insert(0, f"[{table}]")
    for key, value in tables.items():
        lines.append(toml_text(value, f"{table}.{key}" if table else key))
    return "\n".join(lines) + "\n"


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and key in out else value
    return out


def write_config(settings: Settings, path: Path, **overrides: Any) -> Path:
    """``settings`` with ``overrides`` (nested dicts, as for load_settings) as a TOML file."""
    data = _merge(settings.model_dump(mode="json", exclude_none=True), overrides)
    text = toml_text(data)
    if tomllib.loads(text) != data:
        raise AssertionError("the generated config does not read back as written")
    path.write_text(text, encoding="utf-8")
    return path


def _command() -> list[str]:
    script = Path(sys.executable).with_name("save-relay")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from save_relay.cli.main import app; app()"]


class Daemon:
    """One child daemon; ``start`` returns once it logged its start-up line."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.log = config.with_suffix(".log")
        self.process: subprocess.Popen[bytes] | None = None
        self._terminated = False

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self, timeout: float = 60.0) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}  # the file decides
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [*_command(), "--config", str(self.config), "serve"],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
            )
        deadline = time.monotonic() + timeout
        while READY not in self.log_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the daemon did not start:\n{self.log_tail()}")
            await asyncio.sleep(0.02)

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def peak_rss_mib(self) -> float:
        return procstat.peak_rss_mib(self.pid)

    def cpu_seconds(self) -> float:
        return procstat.cpu_seconds(self.pid)

    def kill(self) -> None:
        """SIGKILL, as a crash: no shutdown at all; waits until the process is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def terminate(self) -> None:
        """SIGTERM, as an operator stops it, once: a second one during its exit would kill it."""
        if self.process is not None and not self._terminated and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self._terminated = True

    async def stop(self, timeout: float = 30.0) -> None:
        """Terminate and wait: it must exit 0 and have logged no error."""
        if self.process is None:
            return
        self.terminate()
        try:
            code = await asyncio.to_thread(self.process.wait, timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            await asyncio.to_thread(self.process.wait)
            raise RuntimeError(f"the daemon did not stop in {timeout} s:\n{self.log_tail()}") from None
        errors = [line for line in self.log_text().splitlines() if " ERROR " in line or "Traceback" in line]
        if code != 0 or errors:
            raise RuntimeError(f"the daemon exited with {code}, {len(errors)} errors:\n{self.log_tail()}")
