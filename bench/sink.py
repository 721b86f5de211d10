"""A counting SMTP sink (aiosmtpd) in its own process, so that it does not share a core with the
sender under test.

The child counts messages, recipients and bytes in shared memory and discards the data. Recipients
that start with ``prefix`` (the generated subscribers) are also remembered, for the exactly-once
check, and the monotonic time of the last one is kept: CLOCK_MONOTONIC is system-wide on Linux, so
the parent can subtract its own ``time.monotonic()`` from it.

``CountingSink`` is what the throughput benchmarks need of a sink; ``bench.postfix_sink.PostfixSink``
(Postfix's ``smtp-sink``) has it too and costs far less CPU per message.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
import multiprocessing as mp
import re
import signal
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, Protocol

_COUNTERS = ("messages", "recipients", "bytes", "matched")


_REPLY_TO = re.compile(rb"^Reply-To:[^\r\n]*?([\w.+=-]+@[\w.-]+)", re.IGNORECASE | re.MULTILINE)


class _Handler:
    def __init__(self, shared: dict[str, Any], prefix: str, capture: str | tuple[str, ...]) -> None:
        self.shared = shared
        self.prefix = prefix
        self.capture = capture
        self.seen: list[str] = []
        self.captured: list[tuple[str, str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        shared = self.shared
        shared["messages"].value += 1
        shared["recipients"].value += len(envelope.rcpt_tos)
        shared["bytes"].value += len(envelope.content or b"")
        matched = [r for r in envelope.rcpt_tos if r.startswith(self.prefix)]
        if matched:
            self.seen.extend(matched)
            shared["matched"].value += len(matched)
            shared["last_at"].value = now = time.monotonic()
            if not shared["first_at"].value:
                shared["first_at"].value = now
        if self.capture:
            for r in envelope.rcpt_tos:
                if r.startswith(self.capture):
                    head = (envelope.content or b"").split(b"\r\n\r\n", 1)[0]
                    found = _REPLY_TO.search(head)
                    self.captured.append((r, found.group(1).decode() if found else ""))
        return "250 2.0.0 Ok"


def _serve(conn: Connection, shared: dict[str, Any], prefix: str, capture: str | tuple[str, ...]) -> None:
    from aiosmtpd.smtp import SMTP

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    handler = _Handler(shared, prefix, capture)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(handler, hostname="sink.bench"), host="127.0.0.1", port=0
        )
        conn.send(server.sockets[0].getsockname()[1])
        stop = asyncio.Event()

        def command() -> None:
            what = conn.recv()
            if what == "reset":
                for name in _COUNTERS:
                    shared[name].value = 0
                shared["last_at"].value = shared["first_at"].value = 0.0
                handler.seen = []
                handler.captured = []
                conn.send("ok")
            elif what == "dump":
                conn.send(handler.seen)
            elif what == "captured":
                conn.send(handler.captured)
            elif what == "cpu":
                conn.send(time.process_time())
            else:
                stop.set()

        loop.add_reader(conn.fileno(), command)
        await stop.wait()
        server.close()

    asyncio.run(main())


class CountingSink(Protocol):
    """A sink as the throughput benchmarks use it: counters, the matched recipients and their times."""

    port: int
    name: str  # what it is, for the results, e.g. "aiosmtpd 1.4.6"

    def count(self, name: str) -> int:
        """``messages``, ``recipients``, ``bytes`` (DATA as sent, CRLF line ends) or ``matched``
        (recipients starting with the prefix), since the last reset."""
        ...

    @property
    def first_at(self) -> float:
        """``time.monotonic()`` at the first matched recipient since the last reset (0.0: none)."""
        ...

    @property
    def last_at(self) -> float:
        """``time.monotonic()`` at the last matched recipient since the last reset (0.0: none)."""
        ...

    def reset(self) -> None: ...

    def dump(self) -> list[str]:
        """The matched recipients since the last reset, in order of arrival, each time it came."""
        ...

    def cpu_seconds(self) -> float:
        """CPU time used by the sink's own processes so far."""
        ...

    async def wait_matched(self, n: int, timeout: float) -> None: ...

    def stop(self) -> None: ...


class ChildSink:
    """The parent's side of a sink whose child process counts into shared memory (written only by the
    child, read here without a round trip) and answers commands over a pipe."""

    port: int
    name: str

    def __init__(self) -> None:
        self._ctx = mp.get_context("spawn")
        self._shared: dict[str, Any] = {name: self._ctx.Value("q", 0, lock=False) for name in _COUNTERS}
        self._shared["last_at"] = self._ctx.Value("d", 0.0, lock=False)
        self._shared["first_at"] = self._ctx.Value("d", 0.0, lock=False)
        self._conn, self._child_conn = self._ctx.Pipe()

    def _start(self, target: Callable[..., None], *args: Any) -> Any:
        """Start the child ``target(conn, shared, *args)``; returns its first message."""
        self._process = self._ctx.Process(
            target=target, args=(self._child_conn, self._shared, *args), daemon=True
        )
        self._process.start()
        return self._conn.recv()

    def _ask(self, what: str) -> Any:
        self._conn.send(what)
        return self._conn.recv()

    def count(self, name: str) -> int:
        return int(self._shared[name].value)

    @property
    def last_at(self) -> float:
        return float(self._shared["last_at"].value)

    @property
    def first_at(self) -> float:
        return float(self._shared["first_at"].value)

    def reset(self) -> None:
        self._ask("reset")

    def dump(self) -> list[str]:
        """The matched recipients received since the last reset, in order of arrival."""
        seen: list[str] = self._ask("dump")
        return seen

    async def wait_matched(self, n: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self._shared["matched"].value < n:  # shared memory: no round trip to the child
            if time.monotonic() > deadline:
                raise TimeoutError(f"sink got {self.count('matched')} of {n} recipients in {timeout} s")
            await asyncio.sleep(0.005)

    def stop(self) -> None:
        self._conn.send("stop")
        self._process.join(5)
        if self._process.is_alive():
            self._process.kill()


class Sink(ChildSink):
    """The parent's handle on the aiosmtpd sink process."""

    def __init__(self, prefix: str = "user", capture: str | tuple[str, ...] = "") -> None:
        """``capture``: for recipients starting with it (or one of them), keep (recipient, Reply-To)."""
        super().__init__()
        self.port = self._start(_serve, prefix, capture)
        self.name = f"aiosmtpd {importlib.metadata.version('aiosmtpd')}"

    def captured(self) -> list[tuple[str, str]]:
        """(recipient, Reply-To address) of the captured messages since the last reset."""
        out: list[tuple[str, str]] = self._ask("captured")
        return out

    def cpu_seconds(self) -> float:
        """CPU time used by the sink process so far."""
        seconds: float = self._ask("cpu")
        return seconds
