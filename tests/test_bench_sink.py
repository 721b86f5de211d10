"""The Postfix smtp-sink sink of the throughput benchmarks (``bench.postfix_sink``): exact counts, a
dump that shows a recipient sent twice twice, and fanout-10k and its baseline passing their own
exactly-once checks with it at a tiny size. Skipped only where /usr/sbin/smtp-sink is missing
(``make system-deps`` installs it; CI runs the script)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import aiosmtplib
import pytest
from bench import baseline, fanout, postfix_sink
from bench.postfix_sink import SINK_ENV, SMTP_SINK, PostfixSink, throughput_sink
from bench.sink import Sink

pytestmark = pytest.mark.skipif(not SMTP_SINK.exists(), reason=f"{SMTP_SINK} is missing (make system-deps)")


@pytest.fixture(scope="module")
def smtp_sink() -> Iterator[PostfixSink]:
    sink = PostfixSink(prefix="user")
    yield sink
    sink.stop()


def message(subject: str, body: bytes) -> bytes:
    return b"From: bench@relay.example\r\nSubject: " + subject.encode() + b"\r\n\r\n" + body


async def test_counts_and_dump_show_a_recipient_twice(smtp_sink: PostfixSink) -> None:
    sink = smtp_sink
    sink.reset()
    first = message("one", b"Hello.\r\n")
    # A dot-stuffed line, and a body line that looks like smtp-sink's own header: neither is counted.
    second = message("two", b".starts with a dot\r\nX-Rcpt-Args: <user-fake@b.example>\r\n\r\nend\r\n")
    third = message("three", b"x" * 900 + b"\r\n" + b"y" * 900 + b"\r\n")
    started = time.monotonic()
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=sink.port, timeout=30, start_tls=False)
    await client.connect()
    try:
        await client.sendmail("relay@bench.example", ["user-1@a.example"], first)
        await client.sendmail("relay@bench.example", ["user-1@a.example", "user-2@a.example"], second)
        await client.sendmail("relay@bench.example", ["other@b.example"], third)
    finally:
        await client.quit()
    await sink.wait_matched(3, 10)
    assert {name: sink.count(name) for name in ("messages", "recipients", "bytes", "matched")} == {
        "messages": 3,
        "recipients": 4,
        "bytes": len(first) + len(second) + len(third),  # as sent: dot-unstuffed, CRLF line ends
        "matched": 3,
    }
    assert sink.dump() == ["user-1@a.example", "user-1@a.example", "user-2@a.example"]
    with pytest.raises(AssertionError, match="1 duplicated"):
        fanout.check_exactly_once(sink.dump(), frozenset({"user-1@a.example", "user-2@a.example"}))
    assert started < sink.first_at <= sink.last_at < time.monotonic()
    assert sink.cpu_seconds() >= 0.0
    assert sink.name.startswith("postfix smtp-sink 3.")
    sink.reset()
    assert sink.count("messages") == sink.count("bytes") == sink.count("matched") == 0
    assert sink.dump() == [] and sink.last_at == sink.first_at == 0.0


async def test_fanout_10k_at_a_tiny_size(smtp_sink: PostfixSink) -> None:
    run = await fanout.run_once(smtp_sink, 200)  # checks every subscriber exactly once itself
    assert run.recipients == 200 and run.seconds > 0
    assert smtp_sink.count("matched") == 200 and 1000 < run.mean_message_bytes < 5000


async def test_baseline_at_a_tiny_size(smtp_sink: PostfixSink) -> None:
    run = await baseline.run_once(smtp_sink, 200)
    assert run.recipients == 200 and run.seconds > 0
    assert smtp_sink.count("messages") == 200
    aiosmtpd = Sink(prefix="user")
    try:  # the same messages (tokens of fixed length): the same size at both sinks
        assert (await baseline.run_once(aiosmtpd, 200)).mean_message_bytes == run.mean_message_bytes
    finally:
        aiosmtpd.stop()


def test_a_port_taken_meanwhile_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        offered = iter([busy])
        free_port = postfix_sink._free_port
        monkeypatch.setattr(postfix_sink, "_free_port", lambda: next(offered, 0) or free_port())
        sink = PostfixSink()
        try:
            assert sink.port != busy and sink.count("messages") == 0
        finally:
            sink.stop()


def test_the_sink_can_be_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SINK_ENV, "aiosmtpd")
    sink = throughput_sink()
    try:
        assert isinstance(sink, Sink) and sink.name.startswith("aiosmtpd ")
    finally:
        sink.stop()
    monkeypatch.setenv(SINK_ENV, "exim")
    with pytest.raises(ValueError, match="aiosmtpd or postfix"):
        throughput_sink()
