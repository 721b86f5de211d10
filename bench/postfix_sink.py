"""A counting SMTP sink backed by Postfix's ``smtp-sink`` (Debian package ``postfix``), for the
throughput benchmarks, where the aiosmtpd sink (``bench.sink.Sink``) would use as much CPU as the
sender under test.

How it counts. ``smtp-sink -D FIFO`` appends every mail transaction, whole, to a named pipe when its
final "." arrives and before it answers 250: its own header lines (one ``X-Rcpt-Args`` per RCPT
command, in order, so a recipient sent twice is there twice), then the message. A small reader
process (a spawned Python child, as for ``Sink``) keeps the pipe open, parses that stream and keeps
the counters in shared memory, so the parent (the process under test) reads them for free and writes
nothing to disk: no dump file is kept (smtp-sink's scratch copy of each message is unlinked as soon as
it is made, on tmpfs) and nothing piles up over 100,000 messages. Every transaction begins with the
start string ``MARK`` (``-S``); the header block ends with smtp-sink's three-line ``Received:``.
(A message with a line "\\x01smtp-sink" in it would confuse the parser; the benchmarks' never have one.)

Clock. ``first_at``/``last_at`` are the reader's ``time.monotonic()`` (CLOCK_MONOTONIC, system-wide,
so comparable with the parent's) when it parsed the transaction's header. The clock has nanosecond
resolution; what limits it is the reader's wake-up after smtp-sink wrote (microseconds on an idle
core, up to a scheduler slice of a few ms on a busy machine), and a burst read at once gets one time.
smtp-sink's own times are no better: the ``Received:`` date has 1 s resolution (and is the MAIL
time), and file mtimes on tmpfs are jiffy-granular (a few ms), so neither is used.

``count()`` and ``dump()`` first make the reader drain the pipe, so they are exact for every message
the client has seen accepted; ``wait_matched`` polls the shared counter (no round trip).
``cpu_seconds()`` is smtp-sink's CPU plus the reader's, from ``/proc/PID/stat`` (10 ms ticks).

smtp-sink is started on 127.0.0.1 only, on a port found free (retried on another one if the bind
fails), as user ``nobody`` when run as root (it refuses to run as root).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pwd
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bench import procstat
from bench.sink import ChildSink, CountingSink, Sink

SMTP_SINK = Path("/usr/sbin/smtp-sink")
SINK_ENV = "SAVE_RELAY_BENCH_SINK"  # aiosmtpd | postfix; unset: postfix where smtp-sink is installed
HOSTNAME = "sink.bench"
MARK = b"\x01smtp-sink\n"  # smtp-sink's -S start string, before each transaction in the dump stream
RUN_AS = "nobody"  # smtp-sink's -u when started by root
PORT_TRIES = 5
PIPE_BYTES = 1 << 20  # the FIFO's buffer (Linux's default limit for F_SETPIPE_SZ); smtp-sink blocks when full
READ_BYTES = 1 << 20
RCPT = b"X-Rcpt-Args: "
RECEIVED = b"\nReceived: from "


def _address(args: bytes) -> str:
    """The address of an ``X-Rcpt-Args`` value: ``<a@b> OPTION=...`` or ``a@b``."""
    if args.startswith(b"<"):
        end = args.find(b">")
        address = args[1:end] if end > 0 else args[1:]
    else:
        address = args.split(b" ", 1)[0]
    return address.decode("utf-8", "replace")


class _Parser:
    """Counts the dump stream into the shared counters; keeps the matched recipients in order.

    ``bytes`` is the DATA as sent (dot-unstuffed, CRLF line ends, as ``len(envelope.content)`` in the
    aiosmtpd sink): smtp-sink drops every CR and ends each message with one empty line, so a message
    is its dumped length plus one per LF, less 2.
    """

    def __init__(self, shared: dict[str, Any], prefix: str) -> None:
        self.shared = shared
        self.prefix = prefix
        self.seen: list[str] = []
        self.pending = b""  # an incomplete header block, or what may be the start of MARK

    def reset(self) -> None:
        for name in ("messages", "recipients", "bytes", "matched"):
            self.shared[name].value = 0
        self.shared["last_at"].value = self.shared["first_at"].value = 0.0
        self.seen = []

    def _content(self, data: bytes) -> None:
        if data:
            self.shared["bytes"].value += len(data) + data.count(b"\n")

    def _transaction(self, header: bytes, now: float) -> None:
        shared = self.shared
        recipients = [_address(line[len(RCPT) :]) for line in header.split(b"\n") if line.startswith(RCPT)]
        shared["messages"].value += 1
        shared["recipients"].value += len(recipients)
        shared["bytes"].value -= 2
        matched = [r for r in recipients if r.startswith(self.prefix)]
        if matched:
            self.seen.extend(matched)
            shared["last_at"].value = now  # before "matched": the parent reads "matched" first
            if not shared["first_at"].value:
                shared["first_at"].value = now
            shared["matched"].value += len(matched)

    def feed(self, data: bytes) -> None:
        buf = self.pending + data
        now = time.monotonic()
        pos = 0
        while (start := buf.find(MARK, pos)) >= 0:
            self._content(buf[pos:start])  # the rest of the previous message
            end = buf.find(RECEIVED, start)
            for _ in range(3):  # Received: from ..., by ... (smtp-sink) with ... id ...;, the date
                end = buf.find(b"\n", end + 1) if end >= 0 else -1
            if end < 0:  # the header block is not all here yet
                self.pending = buf[start:]
                return
            self._transaction(buf[start + len(MARK) : end], now)
            pos = end + 1
        cut = buf.rfind(MARK[:1], max(pos, len(buf) - len(MARK) + 1))
        if cut < 0 or not MARK.startswith(buf[cut:]):
            cut = len(buf)
        self._content(buf[pos:cut])
        self.pending = buf[cut:]


def _drain(fd: int) -> bytes:
    chunks = []
    with contextlib.suppress(BlockingIOError):
        while chunk := os.read(fd, READ_BYTES):
            chunks.append(chunk)
    return b"".join(chunks)


def _read(conn: Connection, shared: dict[str, Any], fifo: str, prefix: str) -> None:
    """The reader process: parse the FIFO as it fills; answer the parent's commands."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Read-write: the pipe always has a reader (smtp-sink's open never blocks) and never sees EOF.
    fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
    with contextlib.suppress(OSError):
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    parser = _Parser(shared, prefix)
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    poller.register(conn.fileno(), select.POLLIN)
    conn.send("ready")
    watched = 0  # smtp-sink's pid: ended here if the parent goes away without stop()
    while True:
        for ready, _ in poller.poll():
            if ready == fd:
                parser.feed(_drain(fd))
                continue
            try:
                what = conn.recv()
            except EOFError:
                if watched:
                    with contextlib.suppress(OSError):
                        os.kill(watched, signal.SIGTERM)
                return
            parser.feed(_drain(fd))  # everything written before the command counts
            if isinstance(what, int):
                watched = what
            elif what == "reset":
                parser.reset()
                conn.send("ok")
            elif what == "dump":
                conn.send(parser.seen)
            elif what == "sync":
                conn.send("ok")
            else:
                return


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _listening(process: subprocess.Popen[bytes], port: int, timeout: float = 10.0) -> bool:
    """Whether ``process`` came up on ``port`` (its greeting, not another server's); False if it exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as client:
                greeting = client.recv(512)
                client.sendall(b"QUIT\r\n")
                client.recv(512)
        except OSError:
            time.sleep(0.01)
            continue
        return process.poll() is None and greeting.startswith(f"220 {HOSTNAME} ".encode())
    return False


def version() -> str:
    """Postfix's version (smtp-sink is part of it), e.g. ``3.7.11``; empty if unknown."""
    try:
        out = subprocess.run(
            ["/usr/sbin/postconf", "-d", "-h", "mail_version"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip()


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _end(process: subprocess.Popen[bytes], workdir: Path) -> None:
    _terminate(process)
    shutil.rmtree(workdir, ignore_errors=True)


class PostfixSink(ChildSink):
    """``smtp-sink`` on 127.0.0.1 with the reader process; the same interface as ``Sink`` as the
    throughput benchmarks use it (``CountingSink``), without ``captured()``."""

    def __init__(self, prefix: str = "user") -> None:
        super().__init__()
        shm = Path("/dev/shm")
        self._dir = Path(
            tempfile.mkdtemp(prefix="save-relay-sink-", dir=shm if os.access(shm, os.W_OK) else None)
        )
        fifo = self._dir / "dump"
        os.mkfifo(fifo, 0o600)
        user: list[str] = []
        if os.geteuid() == 0:
            account = pwd.getpwnam(RUN_AS)
            for path in (self._dir, fifo):  # it makes its scratch copies beside the FIFO
                os.chown(path, account.pw_uid, account.pw_gid)
            user = ["-u", RUN_AS]
        self._start(_read, str(fifo), prefix)
        argv = [str(SMTP_SINK), "-4", "-a", "-C", "-F", "-N", "-h", HOSTNAME, "-t", "300", *user]
        argv += ["-S", "\\001smtp-sink\\n", "-D", str(fifo)]
        self._sink, self.port = self._launch(argv)
        self._conn.send(self._sink.pid)
        self._finalizer = weakref.finalize(self, _end, self._sink, self._dir)
        self.name = f"postfix smtp-sink {version()}".strip()

    def _launch(self, argv: list[str]) -> tuple[subprocess.Popen[bytes], int]:
        """Start smtp-sink on a free port; another one if that port was taken meanwhile."""
        log = self._dir / "smtp-sink.log"
        for _ in range(PORT_TRIES):
            port = _free_port()
            with log.open("ab") as err:
                process = subprocess.Popen(
                    [*argv, f"127.0.0.1:{port}", "256"],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                )
            if _listening(process, port):
                return process, port
            _terminate(process)
        errors = log.read_text(errors="replace")[-500:]
        self.stop()
        raise RuntimeError(f"smtp-sink did not start in {PORT_TRIES} tries: {errors}")

    def count(self, name: str) -> int:
        self._ask("sync")
        return super().count(name)

    def cpu_seconds(self) -> float:
        """CPU time of smtp-sink and of the reader process so far."""
        assert self._process.pid is not None
        return procstat.cpu_seconds(self._sink.pid) + procstat.cpu_seconds(self._process.pid)

    def stop(self) -> None:
        if hasattr(self, "_finalizer"):
            self._finalizer()
        super().stop()
        shutil.rmtree(self._dir, ignore_errors=True)


def throughput_sink(prefix: str = "user") -> CountingSink:
    """The sink for the throughput benchmarks: smtp-sink where it is installed, else the aiosmtpd
    ``Sink`` (with a warning); ``SAVE_RELAY_BENCH_SINK=aiosmtpd`` or ``postfix`` chooses."""
    wanted = os.environ.get(SINK_ENV, "")
    if wanted not in ("", "aiosmtpd", "postfix"):
        raise ValueError(f"{SINK_ENV}={wanted!r}: expected aiosmtpd or postfix")
    if wanted != "aiosmtpd" and SMTP_SINK.exists():
        sink: CountingSink = PostfixSink(prefix)
    elif wanted == "postfix":
        raise RuntimeError(f"{SINK_ENV}=postfix but {SMTP_SINK} is missing (make system-deps)")
    else:
        if not wanted:
            print(
                f"warning: {SMTP_SINK} is missing (make system-deps installs it): the throughput "
                "benchmarks use the aiosmtpd sink, which can be their bottleneck",
                file=sys.stderr,
                flush=True,
            )
        sink = Sink(prefix)
    print(f"throughput sink: {sink.name}", flush=True)
    return sink
