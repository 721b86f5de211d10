"""save-relay behind a real Postfix configured from README.md's recipes (tests/postfix/instance.py).

One Postfix instance does both jobs, as the README suggests: it takes the network's mail on its SMTP
port and hands it to save-relay's LMTP listener, and it is save-relay's outbound smarthost, relaying to
the test's sink (its ``relayhost``, standing in for the internet).
"""

from __future__ import annotations

import asyncio
import re
import subprocess
from collections.abc import AsyncIterator
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from save_relay.app import Relay
from save_relay.store.db import is_sqlite
from tests.adversarial.test_outage import _admin, _block
from tests.conftest import MODERATORS, make_settings, seed_demo
from tests.e2e.test_lmtp import _rename_inbound
from tests.helpers import Received, Sink, report_message, smtp_send, wait_for
from tests.postfix.instance import ROOT, Postfix, readme_recipe

NETWORK = "industrie@politie.lommel.be"
REPORTER = "security@metaalwerken-vos.example"
POSTFIX_NAME = "mx.politie.lommel.test"  # TEST_MAIN_CF's myhostname: in the Received headers it adds


@pytest.fixture
async def relay(db_url: str, sink: Sink, tmp_path: Path, postfix: Postfix) -> AsyncIterator[Relay]:
    """save-relay with LMTP only (no SMTP listener) and Postfix as its smarthost; Postfix in front."""
    settings = make_settings(
        db_url,
        postfix.smtp_port,
        tmp_path,
        smtp={"enabled": False},
        lmtp={"enabled": True, "host": "127.0.0.1", "port": 0},
    )
    server = Relay(settings)
    await server.start(migrate=False)
    try:
        await seed_demo(server.engine, server)
        assert server.lmtp is not None
        postfix.configure(lmtp_port=server.lmtp.port, sink_port=sink.port)
        await asyncio.to_thread(postfix.start)
        yield server
    finally:
        await server.stop()


async def query(relay: Relay, sql: str, **params: Any) -> list[Any]:
    async with relay.sessions() as session:
        return list((await session.execute(text(sql), params)).all())


async def reports(relay: Relay) -> list[Any]:
    return await query(
        relay,
        "SELECT r.reference, r.status, m.via, m.raw FROM reports r "
        "JOIN inbound_messages m ON m.id = r.inbound_id ORDER BY r.id",
    )


async def rcpt_reply(port: int, rcpt: str) -> tuple[int, str]:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=10, start_tls=False)
    await client.connect()
    try:
        await client.mail(REPORTER)
        try:
            response = await client.rcpt(rcpt)
        except aiosmtplib.SMTPRecipientRefused as exc:
            return exc.code, exc.message
        return response.code, response.message
    finally:
        await client.quit()


async def send_report(postfix: Postfix, **kwargs: Any) -> None:
    code, reply = await smtp_send(postfix.smtp_port, REPORTER, [NETWORK], report_message(**kwargs))
    assert code == 250 and "queued as" in reply, reply  # Postfix's own queue id


async def test_report_through_postfix_reaches_the_queue(relay: Relay, postfix: Postfix) -> None:
    assert postfix.postconf("recipient_delimiter") == "+"
    await send_report(postfix)

    stored = await wait_for(lambda: reports(relay))
    assert len(stored) == 1
    reference, status, via, raw = stored[0]
    assert status == "pending" and via == "lmtp"
    assert b"witte bestelwagen" in raw and f"by {POSTFIX_NAME}".encode() in raw  # it came through Postfix
    await wait_for(lambda: not postfix.queue())  # nothing left in Postfix's queue ...
    log = postfix.log()
    assert re.search(rf"to=<{re.escape(NETWORK)}>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:{relay.lmtp.port}", log)  # type: ignore[union-attr]
    assert f"status=sent (250 2.0.0 Ok: queued as {reference})" in log  # ... save-relay's LMTP 250 said so

    # Postfix refuses at RCPT what save-relay would not take (relay_recipient_maps), and finds every
    # `+` sub-address under the network's one line (recipient_delimiter).
    code, reply = await rcpt_reply(postfix.smtp_port, "onbekend@politie.lommel.be")
    assert code == 550 and "5.1.1" in reply, reply
    for address in (
        "industrie+request@politie.lommel.be",
        f"industrie+confirm-{'k7' * 13}@politie.lommel.be",
    ):
        code, reply = await rcpt_reply(postfix.smtp_port, address)
        assert code == 250, (address, reply)


def through_postfix(message: Received) -> bool:
    return f"by {POSTFIX_NAME}".encode() in message.data


async def notification(sink: Sink, moderator: str) -> Received:
    def found() -> Received | None:
        return next((m for m in sink.to(moderator) if "moderer" in str(m.message["Subject"])), None)

    note: Received = await wait_for(found, timeout=30)
    return note


async def test_confirm_reply_through_postfix_approves_and_the_distribution_leaves_through_it(
    relay: Relay, postfix: Postfix, sink: Sink
) -> None:
    await send_report(postfix)
    ((reference, *_),) = await wait_for(lambda: reports(relay))

    # save-relay's notification leaves through Postfix (the smarthost) to the sink ...
    note = await notification(sink, MODERATORS[0])
    assert through_postfix(note) and reference in str(note.message["Subject"])
    reply_to = str(note.message["Reply-To"])
    assert re.fullmatch(r"industrie\+confirm-[a-z2-7]{26}@politie\.lommel\.be", reply_to)

    # ... and the moderator's `ok` comes back through Postfix, over LMTP, to the +confirm sub-address.
    reply = EmailMessage()
    reply["From"] = f"Inspecteur Peeters <{MODERATORS[0]}>"
    reply["To"] = reply_to
    reply["Subject"] = "RE: " + str(note.message["Subject"])
    reply["In-Reply-To"] = str(note.message["Message-ID"])
    reply["Message-ID"] = make_msgid(domain="politie.lommel.be")
    reply.set_content("ok\n\nInspecteur Peeters\n")
    code, answer = await smtp_send(postfix.smtp_port, MODERATORS[0], [reply_to], reply)
    assert code == 250, answer

    async def approved() -> bool:
        rows = await query(relay, "SELECT status FROM reports WHERE reference = :r", r=reference)
        return bool(rows[0][0] == "approved")

    await wait_for(approved, timeout=30)
    expected = (
        await query(
            relay, "SELECT count(*) FROM deliveries WHERE kind = 'distribution' AND status <> 'failed'"
        )
    )[0][0]
    assert expected > 2

    def distributed() -> list[Received]:
        found = [m for m in sink.messages if m.message["List-Id"] and reference in str(m.message["Subject"])]
        return found if len(found) >= expected else []

    delivered = await wait_for(distributed, timeout=60)
    assert all(through_postfix(m) for m in delivered)
    recipients = [r.lower() for m in delivered for r in m.rcpt_tos]
    assert len(recipients) == len(set(recipients)) == expected  # each once
    assert "ploeg.a@politie.lommel.example" in recipients and REPORTER in recipients
    assert all(
        re.fullmatch(r"industrie\+bounces-[a-z2-7]+@politie\.lommel\.be", m.mail_from) for m in delivered
    )

    async def all_sent() -> bool:
        rows = await query(relay, "SELECT count(*) FROM deliveries WHERE status <> 'sent'")
        return bool(rows[0][0] == 0)

    await wait_for(all_sent, timeout=30)  # every delivery marked sent after Postfix's 250
    await wait_for(lambda: not postfix.queue(), timeout=30)


async def test_database_outage_keeps_the_mail_in_postfixs_queue_until_flushed(
    relay: Relay, postfix: Postfix, db_url: str
) -> None:
    """SQLite: the inbound table is renamed away (a real failure at INSERT); PostgreSQL: the database
    refuses connections. Either way save-relay's LMTP answers 451 4.3.0, Postfix defers the mail and keeps
    it, and `postqueue -f` after the recovery delivers it, once."""
    sqlite = is_sqlite(db_url)
    name = make_url(db_url).database
    assert name
    if sqlite:
        await _rename_inbound(db_url, "inbound_messages", "inbound_messages_away")
    else:
        await _block(name)
    try:
        await send_report(postfix)  # Postfix takes it: the sender is done

        def deferred() -> list[dict[str, Any]]:
            return [m for m in postfix.queue() if m["queue_name"] == "deferred"]

        (held,) = await wait_for(deferred, timeout=60)
        (recipient,) = held["recipients"]
        assert recipient["address"] == NETWORK
        assert "451 4.3.0" in recipient["delay_reason"], recipient
        await asyncio.sleep(1)
        assert deferred(), "Postfix retried before the flush"  # it waits (backoff >= 300 s)
    finally:
        if sqlite:
            await _rename_inbound(db_url, "inbound_messages_away", "inbound_messages")
        else:
            await _admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    assert await reports(relay) == []

    # Recovered: the flush delivers it (a plan cached during the outage may fail once more: flush again).
    for _ in range(5):
        postfix.flush()
        try:
            stored = await wait_for(lambda: reports(relay), timeout=5)
            break
        except AssertionError:
            continue
    else:
        raise AssertionError(f"never delivered after the outage:\n{postfix.log()[-3000:]}")
    assert len(stored) == 1 and stored[0][2] == "lmtp"
    await wait_for(lambda: not postfix.queue(), timeout=30)
    assert len(await reports(relay)) == 1


def test_the_container_postfix_follows_the_readme(postfix_path: Path, tmp_path: Path) -> None:
    """contrib/container/postfix (compose.yaml's Postfix, never built here) has the README's recipe
    values, container host names aside, and parses without a warning."""
    container = ROOT / "contrib/container/postfix"
    (tmp_path / "main.cf").write_text((container / "main.cf").read_text())
    debian = next(
        p for p in (Path("/etc/postfix/master.cf.proto"), Path("/etc/postfix/master.cf")) if p.exists()
    )
    (tmp_path / "master.cf").write_text(debian.read_text())  # the container keeps the package's master.cf
    result = subprocess.run(
        [str(postfix_path / "postconf"), "-c", str(tmp_path), "-n"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert not result.stderr.strip(), result.stderr
    settings = {k.strip(): v.strip() for k, v in (line.split("=", 1) for line in result.stdout.splitlines())}
    for name in ("lmtp", "smarthost"):
        recipe = readme_recipe(name)
        for line in recipe["/etc/postfix/main.cf"].splitlines():
            if line.startswith("#") or not line.strip():
                continue
            key, value = (part.strip() for part in line.split("=", 1))
            if key == "mynetworks":  # plus the container network
                assert set(value.split()) <= set(settings[key].split()), key
            else:
                assert settings.get(key) == value, key
    transport = (container / "transport").read_text()
    assert f"{NETWORK}    lmtp:inet:save-relay:2424" in transport
    recipients = (container / "relay_recipients").read_text().split()
    assert all(m in recipients for m in (NETWORK, *MODERATORS))
