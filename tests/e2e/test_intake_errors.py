"""Bad input and bad luck at intake, over real SMTP on loopback (DESIGN.md invariants 1, 4 and 5).

A storage failure answers 451 and stores nothing; refused recipients and oversized mail get precise
codes; malformed MIME is stored byte for byte and still reaches the moderators; automatic mail gets
no acknowledgement.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiosmtplib
import asyncpg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from save_relay.app import Relay
from save_relay.store.db import create_engine, is_sqlite
from save_relay.store.migrate import upgrade
from save_relay.store.tables import Delivery, InboundMessage, Report
from tests.conftest import MODERATORS, PG_URL, _pg_dsn, make_settings, seed_demo
from tests.corpus import corpus_files
from tests.helpers import Sink, report_message, smtp_send, wait_for

NETWORK = "industrie@politie.lommel.be"
REPORTER = "security@metaalwerken-vos.example"
REFERENCE = re.compile(r"SAVE-\d{4}-\d{6}")
MAX_SIZE = 512 * 1024  # smtp.max_message_size in tests/conftest.py make_settings


# --------------------------------------------------------------------------------------------------
# helpers


async def send_raw(port: int, mail_from: str, rcpts: list[str], data: bytes) -> tuple[int, str]:
    """Like ``smtp_send`` but returns a refused DATA's (code, text) instead of raising."""
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=20, start_tls=False)
    await client.connect()
    try:
        await client.mail(mail_from)
        for rcpt in rcpts:
            await client.rcpt(rcpt)
        try:
            response = await client.data(data)
        except aiosmtplib.SMTPDataError as exc:
            return exc.code, exc.message
        return response.code, response.message
    finally:
        await client.quit()


@pytest.fixture
async def client(relay: Relay) -> AsyncIterator[aiosmtplib.SMTP]:
    """A connected client after EHLO, for command-by-command dialogues."""
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=relay.smtp_port, timeout=20, start_tls=False)
    await smtp.connect()
    await smtp.ehlo()
    yield smtp
    if smtp.is_connected:
        await smtp.quit()


async def command(smtp: aiosmtplib.SMTP, verb: str, arg: str) -> tuple[int, str]:
    response = await smtp.execute_command(verb.encode(), arg.encode())
    return response.code, response.message


async def count_rows(relay: Relay, model: type[InboundMessage] | type[Report]) -> int:
    async with relay.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _processed(relay: Relay) -> bool:
    """No inbound message is waiting for the processor."""
    async with relay.sessions() as session:
        query = select(func.count()).select_from(InboundMessage).where(InboundMessage.status == "new")
        return int(await session.scalar(query) or 0) == 0


async def notified(sink: Sink, reference: str) -> set[str]:
    """The moderators that got the notification of ``reference`` (identified by its header)."""

    def found() -> set[str] | None:
        got = {
            r.lower()
            for m in sink.messages
            if m.message["X-Save-Relay-Reference"] == reference and "moderer" in str(m.message["Subject"])
            for r in m.rcpt_tos
        }
        return got if got >= set(MODERATORS) else None

    return await wait_for(found, timeout=15)


def reference_of(text: str) -> str:
    match = REFERENCE.search(text)
    assert match, text
    return match.group(0)


def as_received(sent: bytes) -> bytes:
    """What an SMTP server receives for ``sent``: CRLF line ends, a final CRLF (dot-stuffing and
    unstuffing cancel out). Computed here, independently of the client and server libraries."""
    data = re.sub(rb"\r\n|\n|\r", b"\r\n", sent)
    return data if data.endswith(b"\r\n") else data + b"\r\n"


def assert_storage_failure(code: int, text: str) -> None:
    assert code == 451, (code, text)
    assert "4.3.0" in text
    for leak in ("Traceback", "Error", "disk on fire", "sqlite", "asyncpg", "Exception", "/"):
        assert leak not in text, f"internal detail {leak!r} in the reply: {text}"


# --------------------------------------------------------------------------------------------------
# storage failures: 451, nothing half-stored, and the next try works


FAIL_TRIGGER_SQLITE = [
    "CREATE TRIGGER save_test_fail BEFORE INSERT ON reports BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
]
DROP_TRIGGER_SQLITE = ["DROP TRIGGER save_test_fail"]
FAIL_TRIGGER_PG = [
    "CREATE FUNCTION save_test_fail() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'disk on fire'; END $$",
    "CREATE TRIGGER save_test_fail BEFORE INSERT ON reports FOR EACH ROW EXECUTE FUNCTION save_test_fail()",
]
DROP_TRIGGER_PG = ["DROP TRIGGER save_test_fail ON reports", "DROP FUNCTION save_test_fail()"]


async def run_ddl(db_url: str, statements: list[str]) -> None:
    """Run ``statements`` on a connection of its own (not the relay's pool)."""
    engine = create_engine(db_url)
    try:
        async with engine.begin() as conn:
            for statement in statements:
                await conn.exec_driver_sql(statement)
    finally:
        await engine.dispose()


async def test_storage_failure_answers_451_and_keeps_nothing(relay: Relay, sink: Sink, db_url: str) -> None:
    sqlite = is_sqlite(db_url)
    await run_ddl(db_url, FAIL_TRIGGER_SQLITE if sqlite else FAIL_TRIGGER_PG)

    code, text = await send_raw(relay.smtp_port, REPORTER, [NETWORK], report_message().as_bytes())

    assert_storage_failure(code, text)
    # The inbound message was inserted (flushed) before the report insert failed: the whole
    # transaction rolled back, so neither is there.
    assert await count_rows(relay, InboundMessage) == 0
    assert await count_rows(relay, Report) == 0

    await run_ddl(db_url, DROP_TRIGGER_SQLITE if sqlite else DROP_TRIGGER_PG)
    code, text = await send_raw(relay.smtp_port, REPORTER, [NETWORK], report_message().as_bytes())
    assert code == 250, text
    reference = reference_of(text)
    assert await count_rows(relay, InboundMessage) == 1
    assert await notified(sink, reference) >= set(MODERATORS)


async def _pg_admin() -> asyncpg.Connection:
    assert PG_URL
    return await asyncpg.connect(_pg_dsn(PG_URL))


async def test_database_gone_answers_451_and_recovers(db_url: str, sink: Sink, tmp_path: Path) -> None:
    """The database disappears under a running relay, then comes back.

    SQLite: the folder holding the database file is renamed away and the pool is closed (an open
    SQLite file stays usable through its descriptor, so only a fresh connection notices; the pool is
    what a long-running daemon recycles). PostgreSQL: the database stops accepting connections and
    every backend is terminated, as in a failover or a restart of the server.
    """
    sqlite = is_sqlite(db_url)
    folder = tmp_path / "db"
    if sqlite:  # a database in a folder of its own, so that the folder can be taken away
        db_url = f"sqlite+aiosqlite:///{folder / 'relay.sqlite3'}"
        engine = create_engine(db_url)
        await upgrade(engine)
        await engine.dispose()
    relay = Relay(make_settings(db_url, sink.port, tmp_path))
    await relay.start(migrate=False)
    try:
        await seed_demo(relay.engine, relay)
        name = make_url(db_url).database
        if sqlite:
            os.rename(folder, tmp_path / "db.away")
            await relay.engine.dispose()
        else:
            admin = await _pg_admin()
            try:
                await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
                await admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = $1 AND pid <> pg_backend_pid()",
                    name,
                )
            finally:
                await admin.close()

        for _ in range(2):  # and again: still no crash, still 451
            code, text = await asyncio.wait_for(
                send_raw(relay.smtp_port, REPORTER, [NETWORK], report_message().as_bytes()), 30
            )
            assert_storage_failure(code, text)

        if sqlite:
            os.rename(tmp_path / "db.away", folder)
        else:
            admin = await _pg_admin()
            try:
                await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            finally:
                await admin.close()

        code, text = await send_raw(relay.smtp_port, REPORTER, [NETWORK], report_message().as_bytes())
        assert code == 250, text
        reference = reference_of(text)
        assert await count_rows(relay, Report) == 1  # only the one accepted after the outage
        # The processor and the outbound worker survived the outage too.
        assert await notified(sink, reference) >= set(MODERATORS)
    finally:
        await relay.stop()


# --------------------------------------------------------------------------------------------------
# recipients, sizes and counts


REFUSED_RECIPIENTS = [
    ("nobody@politie.lommel.be", "550 5.1.1"),  # our domain, no such address
    ("someone@example.org", "550 5.7.1"),  # a foreign domain: no open relay
    ("Industrie@Politie.Lommel.BE.example", "550 5.7.1"),
    ("industrie@politie.lommel.be.evil.example", "550 5.7.1"),
    ("industrie+confirm-notatoken@politie.lommel.be", "550 5.1.1"),  # not a token
    ("industrie+bogus@politie.lommel.be", "550 5.1.1"),  # no such sub-address
    ("industrie+bounces-@politie.lommel.be", "550 5.1.1"),
    ("industrie+reply-abc@politie.lommel.be", "550 5.1.1"),
]


async def test_refused_recipients(client: aiosmtplib.SMTP, relay: Relay) -> None:
    answers = {}
    for recipient, _ in REFUSED_RECIPIENTS:
        assert await command(client, "MAIL", f"FROM:<{REPORTER}>") == (250, "OK")
        code, text = await command(client, "RCPT", f"TO:<{recipient}>")
        answers[recipient] = f"{code} {text}"[: len("550 5.1.1")]
        code, text = await command(client, "DATA", "")
        assert code == 503, text  # no valid recipient: nothing can be sent
        assert (await command(client, "RSET", ""))[0] == 250
    assert answers == dict(REFUSED_RECIPIENTS)
    assert await count_rows(relay, InboundMessage) == 0


async def test_refused_recipient_does_not_spoil_the_good_one(client: aiosmtplib.SMTP, relay: Relay) -> None:
    await command(client, "MAIL", f"FROM:<{REPORTER}>")
    assert (await command(client, "RCPT", "TO:<someone@example.org>"))[0] == 550
    assert (await command(client, "RCPT", f"TO:<{NETWORK}>"))[0] == 250
    response = await client.data(report_message().as_bytes())
    assert response.code == 250
    reference_of(response.message)
    assert await count_rows(relay, Report) == 1
    async with relay.sessions() as session:
        rcpts = list(await session.scalars(select(InboundMessage.rcpt_to)))
    assert rcpts == [NETWORK]


async def test_ehlo_advertises_the_size_limit(client: aiosmtplib.SMTP) -> None:
    assert client.supports_extension("size")
    assert client.esmtp_extensions["size"] == str(MAX_SIZE)


async def test_mail_from_size_over_the_limit_is_552_5_3_4(client: aiosmtplib.SMTP) -> None:
    code, text = await command(client, "MAIL", f"FROM:<{REPORTER}> SIZE={MAX_SIZE + 1}")
    assert code == 552, text
    assert text.startswith("5.3.4"), text
    code, text = await command(client, "MAIL", f"FROM:<{REPORTER}> SIZE={MAX_SIZE}")
    assert code == 250, text  # at the limit is fine


async def test_oversized_message_is_552_5_3_4_and_the_session_goes_on(
    client: aiosmtplib.SMTP, relay: Relay
) -> None:
    line = b"A" * 76 + b"\r\n"
    body = line * (MAX_SIZE // len(line) + 100)  # a little over the limit
    big = report_message().as_bytes().replace(b"\n", b"\r\n") + body
    assert len(big) > MAX_SIZE
    await command(client, "MAIL", f"FROM:<{REPORTER}>")  # no SIZE given: caught while reading DATA
    await command(client, "RCPT", f"TO:<{NETWORK}>")
    with pytest.raises(aiosmtplib.SMTPDataError) as refused:
        await client.data(big)
    assert refused.value.code == 552
    assert refused.value.message.startswith("5.3.4"), refused.value.message
    assert await count_rows(relay, InboundMessage) == 0

    # The same connection still takes a message of a normal size.
    await command(client, "MAIL", f"FROM:<{REPORTER}>")
    await command(client, "RCPT", f"TO:<{NETWORK}>")
    response = await client.data(report_message().as_bytes())
    assert response.code == 250, response.message
    assert await count_rows(relay, InboundMessage) == 1


async def test_a_line_as_long_as_the_message_may_be_is_taken(client: aiosmtplib.SMTP, relay: Relay) -> None:
    """Mail programs break the 1000-octet line rule (the corpus has a reply with a 700 KB line): such a
    report is stored byte for byte; only the message size limit refuses."""
    head = report_message().as_bytes().replace(b"\n", b"\r\n")
    long_line = b"Verdachte bestelwagen " * (MAX_SIZE // 2 // 22) + b"\r\n"  # ~256 KB on one line
    await command(client, "MAIL", f"FROM:<{REPORTER}>")
    await command(client, "RCPT", f"TO:<{NETWORK}>")
    response = await client.data(head + long_line)
    assert response.code == 250, response.message
    async with relay.sessions() as session:
        raw = await session.scalar(select(InboundMessage.raw))
    assert raw == as_received(head + long_line)

    too_big = b"A" * (MAX_SIZE + 1) + b"\r\n"  # one line over the size limit: a size refusal
    await command(client, "MAIL", f"FROM:<{REPORTER}>")
    await command(client, "RCPT", f"TO:<{NETWORK}>")
    with pytest.raises(aiosmtplib.SMTPDataError) as refused:
        await client.data(head + too_big)
    assert refused.value.code == 552 and refused.value.message.startswith("5.3.4"), refused.value.message
    assert await count_rows(relay, InboundMessage) == 1


async def test_too_many_recipients_is_452_4_5_3(client: aiosmtplib.SMTP, relay: Relay) -> None:
    limit = relay.settings.smtp.max_recipients
    await command(client, "MAIL", f"FROM:<{REPORTER}>")
    tokens = [f"{'abcdefgh'[i % 8]}{'abcdefgh'[i // 8]}{'k7' * 12}" for i in range(limit + 1)]
    distinct = [f"industrie+bounces-{token}@politie.lommel.be" for token in tokens]
    for rcpt in distinct[:limit]:
        assert (await command(client, "RCPT", f"TO:<{rcpt}>"))[0] == 250
    assert (await command(client, "RCPT", f"TO:<{distinct[0].upper()}>"))[0] == 250  # a repeat: merged
    code, text = await command(client, "RCPT", f"TO:<{distinct[limit]}>")
    assert code == 452, text
    assert text.startswith("4.5.3"), text
    assert (await command(client, "RSET", ""))[0] == 250
    assert await count_rows(relay, InboundMessage) == 0


# --------------------------------------------------------------------------------------------------
# malformed MIME: stored raw, announced to the moderators

CORPUS_PICKS = [
    "enmime__bad-final-boundary.raw",  # the closing boundary is wrong
    "enmime__malformed-base64-attach.raw",  # an attachment with broken base64
    "enmime__mime-bad-8bit-filename.raw",  # raw 8-bit bytes in a parameter
    "mime4j__missing-boundary.msg",  # multipart without its boundary
    "flanker__mailformed-headers.eml",  # 8-bit header bytes
    "flanker__missing-boundaries.eml",
    "mime4j__missing-inner-boundary.msg",
    "mimetools__multi-bad.msg",
    "mikel__mime_emails_raw_email_encoded_stack_level_too_deep.eml",
    "mimekit__stack-overflow.txt",  # absurdly deep nesting
    "stalwart-dovecot-malformed__000.eml",
    "zbateson__invalid-charset.txt",  # an unknown charset with 8-bit headers
]

HAND_WRITTEN = {
    # NUL bytes in a header and in the body (PostgreSQL text columns refuse NUL)
    "nul-bytes": (
        b"From: Jan Vos <security@metaalwerken-vos.example>\r\n"
        b"To: industrie@politie.lommel.be\r\n"
        b"Subject: Koper\x00diefstal aan de Balendijk\r\n"
        b"Message-ID: <nul-bytes@metaalwerken-vos.example>\r\n"
        b"\r\n"
        b"Vannacht is er koper\x00 gestolen.\r\n\x00\r\n"
    ),
    # 8-bit Latin-1 in the headers, a multipart whose closing boundary never comes, bad base64
    "latin1-broken-multipart": (
        b"From: Ren\xe9 Ma\xeftre <security@metaalwerken-vos.example>\r\n"
        b"To: industrie@politie.lommel.be\r\n"
        b"Subject: Inbraak bij caf\xe9 De Kroon\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="zzz"\r\n'
        b"\r\n"
        b"--zzz\r\n"
        b"Content-Type: text/plain; charset=x-unknown-charset\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n"
        b"\r\n"
        b"Twee mannen aan de achterdeur =E9=XX=\r\n"
        b"--zzz\r\n"
        b'Content-Type: image/jpeg; name="camera\xff.jpg"\r\n'
        b"Content-Transfer-Encoding: base64\r\n"
        b"\r\n"
        b"/9j/4AAQSkZJRg!!!not base64 at all***\r\n"
    ),
    # no header/body separator, a header line without a colon, lone CRs and LFs, a leading dot
    "no-separator": (
        b"From: security@metaalwerken-vos.example\n"
        b"Subject: geen lege regel\r"
        b"this line is not a header\r\n"
        b".a line that starts with a dot\r\n"
        b"..and one with two\n"
        b"Verdachte wagen gezien."
    ),
}


def malformed_messages() -> list[tuple[str, bytes]]:
    messages = [(name, data) for name, data in HAND_WRITTEN.items()]
    available = {path.name: path for path in corpus_files("mime")}
    messages += [(name, available[name].read_bytes()) for name in CORPUS_PICKS if name in available]
    return messages


async def test_malformed_mime_is_stored_raw_and_reaches_the_moderators(relay: Relay, sink: Sink) -> None:
    messages = malformed_messages()
    assert len(messages) >= len(HAND_WRITTEN)
    references: dict[str, str] = {}
    for name, data in messages:
        code, text = await send_raw(relay.smtp_port, REPORTER, [NETWORK], data)
        assert code == 250, (name, code, text)
        references[name] = reference_of(text)

    problems: list[str] = []
    async with relay.sessions() as session:
        for name, data in messages:
            report = await session.scalar(select(Report).where(Report.reference == references[name]))
            assert report is not None, name
            inbound = await session.get(InboundMessage, report.inbound_id)
            assert inbound is not None
            expected = as_received(data)
            if inbound.raw != expected:
                problems.append(f"{name}: stored bytes differ from the bytes sent")
            if inbound.sha256 != hashlib.sha256(expected).hexdigest():
                problems.append(f"{name}: sha256 is not that of the bytes sent")
            if inbound.size != len(expected):
                problems.append(f"{name}: size {inbound.size} != {len(expected)}")
    assert not problems, problems

    await wait_for(lambda: _processed(relay), timeout=20)
    async with relay.sessions() as session:
        rows = (
            await session.execute(
                select(Report.reference, Report.status, InboundMessage.status, InboundMessage.error).join(
                    InboundMessage, InboundMessage.id == Report.inbound_id
                )
            )
        ).all()
    names = {ref: name for name, ref in references.items()}
    shunted = [
        (names[ref], report_status, inbound_status, (error or "")[-300:])
        for ref, report_status, inbound_status, error in rows
        if report_status != "pending" or inbound_status != "done"
    ]
    assert not shunted, shunted  # malformed MIME must reach the moderators, not the shunt
    for name, _ in messages:
        assert await notified(sink, references[name]) >= set(MODERATORS), name


# --------------------------------------------------------------------------------------------------
# automatic mail: the moderators hear of it, the sender gets no acknowledgement


def _ack_count(sink: Sink, reference: str) -> int:
    """Acknowledgements of ``reference`` at the sink ("Ontvangen: SAVE-...", Auto-Submitted: auto-replied)."""
    return sum(
        1
        for m in sink.messages
        if str(m.message["Subject"]).startswith(f"Ontvangen: {reference}")
        and m.message["Auto-Submitted"] == "auto-replied"
    )


async def _all_sent(relay: Relay) -> bool:
    async with relay.sessions() as session:
        query = select(func.count()).select_from(Delivery).where(Delivery.status == "queued")
        return int(await session.scalar(query) or 0) == 0


async def test_no_acknowledgement_for_automatic_mail(relay: Relay, sink: Sink) -> None:
    """Automatic mail never gets an acknowledgement (no backscatter).

    Bulk mail and mail with a null return path (RFC 3834 section 2) are still reports: the moderators
    are notified. Auto-replies and delivery reports from a mailer daemon are no reports at all: they are
    kept as ``discarded`` with the reason (``membership/discard.py``) and nobody is mailed.
    """
    daemon = "MAILER-DAEMON@metaalwerken-vos.example"
    announced = {
        "precedence-bulk": (REPORTER, report_message(headers={"Precedence": "bulk"})),
        "auto-generated": (REPORTER, report_message(headers={"Auto-Submitted": "auto-generated"})),
        "null-return-path": ("", report_message()),
    }
    discarded = {
        "auto-replied": (REPORTER, report_message(headers={"Auto-Submitted": "auto-replied"})),
        "mailer-daemon": ("", report_message(sender=f"Mail Delivery System <{daemon}>")),
    }
    references: dict[str, str] = {}
    for name, (mail_from, message) in {**announced, **discarded}.items():
        code, text = await smtp_send(relay.smtp_port, mail_from, [NETWORK], message)
        assert code == 250, (name, text)
        references[name] = reference_of(text)
    code, text = await smtp_send(relay.smtp_port, REPORTER, [NETWORK], report_message())
    assert code == 250, text
    control = reference_of(text)

    for name in [*announced, "control"]:
        assert await notified(sink, references.get(name, control)) >= set(MODERATORS), name
    await wait_for(lambda: _ack_count(sink, control) == 1)  # an ordinary report is acknowledged
    await wait_for(lambda: _processed(relay))
    await wait_for(lambda: _all_sent(relay))  # nothing left to send

    acked = {name: _ack_count(sink, ref) for name, ref in references.items()}
    assert acked == dict.fromkeys(references, 0), acked
    assert not sink.to(daemon)
    assert [m for m in sink.to(REPORTER) if control not in str(m.message["Subject"])] == []
    for name in discarded:  # not announced either, but kept with the reason
        reference = references[name]
        assert not [m for m in sink.messages if reference in str(m.message["Subject"])], name
    async with relay.sessions() as session:
        acks = list(await session.scalars(select(Delivery.recipient).where(Delivery.kind == "ack")))
        rows = await session.execute(select(Report.reference, Report.status, Report.reason))
        status = {ref: (st, reason) for ref, st, reason in rows.all()}
    assert acks == [REPORTER]
    for name in announced:
        assert status[references[name]][0] == "pending", name
    for name in discarded:
        report_status, reason = status[references[name]]
        assert report_status == "discarded" and reason, (name, report_status, reason)
