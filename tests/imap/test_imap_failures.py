"""The IMAP intake when things go wrong, against a real Dovecot: the server killed mid-run, the relay
killed between commit and move, refused logins, timeouts, TLS, a renumbered folder, two nodes at once.

Invariant checked throughout: every message ends up stored exactly once and filed on the server.
"""

from __future__ import annotations

import asyncio
import email.policy
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trustme
from sqlalchemy import select

from save_relay.intake.imap import ImapPoller
from save_relay.store.imap import ImapMailbox
from tests.helpers import Sink, report_message, wait_for
from tests.imap.conftest import Harness, imap_conf, settings_with_imap, sqlite_only
from tests.imap.dovecot import USER, Dovecot

REPORTER = "security@metaalwerken-vos.example"


def raw_report(n: int) -> bytes:
    message = report_message(subject=f"melding {n}", body=f"Waarneming nummer {n}.\n")
    return b"Return-Path: <" + REPORTER.encode() + b">\r\n" + message.as_bytes(policy=email.policy.SMTP)


async def count_is(harness: Harness, expected: int) -> bool:
    return await harness.inbound_count() == expected


async def filed(dovecot: Dovecot, expected: int, folder: str = "save-relay/processed") -> bool:
    """INBOX empty and ``expected`` distinct messages in ``folder``."""
    if await dovecot.messages("INBOX"):
        return False
    bodies = {body for _, body in (await dovecot.messages(folder)).values()}
    return len(bodies) == expected


async def assert_each_stored_once(harness: Harness, raws: list[bytes]) -> None:
    stored = sorted(m.raw for m in await harness.inbound())
    assert stored == sorted(raws), f"{len(stored)} stored for {len(raws)} delivered"


async def test_server_killed_and_restarted_mid_run_loses_nothing(harness: Harness, dovecot: Dovecot) -> None:
    poller = harness.poller()
    harness.run(poller)
    await harness.ready(poller)
    raws = [raw_report(n) for n in range(30)]
    for raw in raws[:20]:
        await dovecot.append(raw)
    await wait_for(lambda: harness.inbound_count(), interval=0.005)  # the poller is busy now
    await asyncio.to_thread(dovecot.kill)  # SIGKILL to the whole Dovecot, mid-batch
    await wait_for(lambda: poller.health.state == "backoff")
    assert poller.health.last_error
    await asyncio.to_thread(dovecot.start)
    for raw in raws[20:]:
        await dovecot.append(raw)
    # Usually done in seconds. If the kill caught Dovecot holding its Maildir dotlock
    # (dovecot-uidlist.lock), the restarted server lets every UID MOVE wait until it deems the lock
    # stale (2 minutes): the poller times out and reconnects meanwhile, and must lose nothing.
    await wait_for(lambda: filed(dovecot, 30), timeout=180)
    await assert_each_stored_once(harness, raws)
    assert poller.health.state == "ready"


@sqlite_only
async def test_server_restart_between_messages(harness: Harness, dovecot: Dovecot) -> None:
    """A clean restart (SIGTERM: Dovecot says BYE) while the poller is in IDLE."""
    first, second = raw_report(1), raw_report(2)
    poller = harness.poller()
    harness.run(poller)
    await dovecot.append(first)
    await wait_for(lambda: count_is(harness, 1))
    assert dovecot.process is not None
    dovecot.process.send_signal(signal.SIGTERM)
    await asyncio.to_thread(dovecot.process.wait, 60)  # Dovecot takes ~10 s to say BYE to an IDLE client
    await wait_for(lambda: poller.health.state == "backoff")
    await asyncio.to_thread(dovecot.start)
    await dovecot.append(second)
    await wait_for(lambda: filed(dovecot, 2))
    await assert_each_stored_once(harness, [first, second])


class Killed(BaseException):
    """Stands for the process dying: not an Exception, so nothing in the poller catches it."""


@pytest.mark.parametrize("after", ["move", "flag"])
async def test_relay_killed_between_commit_and_move_does_not_duplicate(
    harness: Harness, dovecot: Dovecot, db_url: str, sink: Sink, tmp_path: Path, after: str
) -> None:
    settings = settings_with_imap(db_url, sink.port, tmp_path, imap_conf(dovecot, after=after))
    first, second = raw_report(1), raw_report(2)
    await dovecot.append(first)
    await dovecot.append(second)
    crashed: list[int] = []

    async def die(uid: int) -> None:  # runs right after the commit of UID 1, before its move/flag
        crashed.append(uid)
        assert dying.connection is not None
        dying.connection.abort()  # the kernel closes a dead process's sockets
        raise Killed

    dying = harness.poller(settings, before_filing=die)
    task = harness.run(dying)
    with pytest.raises(Killed):
        await asyncio.wait_for(task, 10)
    harness.tasks.remove(task)
    assert crashed == [1]
    assert [m.raw for m in await harness.inbound()] == [first]  # committed ...
    inbox = await dovecot.messages("INBOX")
    assert len(inbox) == 2 and all(
        "save-relay-processed" not in flags for flags, _ in inbox.values()
    )  # ... not filed

    restarted = harness.poller(settings)  # a new process: only the database remembers
    harness.run(restarted)
    if after == "move":
        await wait_for(lambda: filed(dovecot, 2))
    else:

        async def flagged() -> bool:
            messages = await dovecot.messages("INBOX")
            return len(messages) == 2 and all("save-relay-processed" in f for f, _ in messages.values())

        await wait_for(flagged)
    await wait_for(lambda: count_is(harness, 2))
    await asyncio.sleep(0.3)  # room for a wrong second copy to show up
    await assert_each_stored_once(harness, [first, second])


@sqlite_only
async def test_a_refused_login_backs_off_then_recovers(
    harness: Harness, dovecot: Dovecot, db_url: str, sink: Sink, tmp_path: Path
) -> None:
    dovecot.users[USER] = "changed-by-the-admin"
    dovecot.write_users()  # Dovecot reads the passwd-file again on its next login
    poller = harness.poller()
    harness.run(poller)
    await wait_for(lambda: poller.health.state == "backoff")
    await wait_for(lambda: poller.health.failures >= 2)  # it keeps trying, with backoff
    assert poller.health.last_error and poller.health.last_error.startswith("login failed")
    async with harness.sessions() as session:
        row = await session.scalar(select(ImapMailbox))
    assert row is not None and row.state == "backoff" and row.last_error and "login failed" in row.last_error

    dovecot.users[USER] = str(harness.settings.networks["industrie"].imap.password)  # type: ignore[union-attr]
    dovecot.write_users()
    await harness.ready(poller)
    await dovecot.append(raw_report(1))
    await wait_for(lambda: count_is(harness, 1))
    assert poller.health.failures == 0


@sqlite_only
async def test_server_down_at_start_then_up(harness: Harness, dovecot: Dovecot) -> None:
    await asyncio.to_thread(dovecot.kill)
    poller = harness.poller()
    harness.run(poller)
    await wait_for(lambda: poller.health.failures >= 2)
    assert poller.health.last_error == "connection refused"
    await asyncio.to_thread(dovecot.start)
    await harness.ready(poller, timeout=10)


@sqlite_only
async def test_a_server_that_stops_answering_times_out_and_recovers(
    harness: Harness, dovecot: Dovecot, db_url: str, sink: Sink, tmp_path: Path
) -> None:
    settings = settings_with_imap(
        db_url, sink.port, tmp_path, imap_conf(dovecot, timeout=1, idle_renew_seconds=1)
    )
    poller = harness.poller(settings)
    harness.run(poller)
    await harness.ready(poller)
    assert dovecot.process is not None
    os.killpg(dovecot.process.pid, signal.SIGSTOP)  # frozen: TCP stays up, nothing answers
    try:
        await wait_for(lambda: poller.health.state == "backoff", timeout=15)
        assert poller.health.last_error and "timeout" in poller.health.last_error
    finally:
        os.killpg(dovecot.process.pid, signal.SIGCONT)
    await harness.ready(poller, timeout=15)
    await dovecot.append(raw_report(1))
    await wait_for(lambda: count_is(harness, 1))


@sqlite_only
async def test_polling_and_move_without_idle_move_or_uidplus(
    harness: Harness, dovecot_factory: Callable[..., Dovecot], db_url: str, sink: Sink, tmp_path: Path
) -> None:
    """An older server: no IDLE (poll), no MOVE (COPY + \\Deleted + EXPUNGE), no UIDPLUS."""
    old = dovecot_factory(capabilities="IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE NAMESPACE")
    settings = settings_with_imap(db_url, sink.port, tmp_path, imap_conf(old, poll_seconds=0.2))
    poller = harness.poller(settings)
    harness.run(poller)
    await harness.ready(poller)
    assert poller.health.mode == "polling every 0.2 s"
    raws = [raw_report(n) for n in range(3)]
    for raw in raws:
        await old.append(raw)
    await wait_for(lambda: filed(old, 3))
    await assert_each_stored_once(harness, raws)


async def test_uidvalidity_change_restarts_uids_without_duplicates(
    harness: Harness, dovecot: Dovecot, db_url: str, sink: Sink, tmp_path: Path
) -> None:
    """The watched folder is deleted and rebuilt (restored from a backup plus one new message)."""
    settings = settings_with_imap(db_url, sink.port, tmp_path, imap_conf(dovecot, folder="Meldingen"))
    await asyncio.to_thread(dovecot.command_sync, lambda c: c.create('"Meldingen"'))
    old = [raw_report(n) for n in range(3)]
    for raw in old:
        await dovecot.append(raw, "Meldingen")
    poller = harness.poller(settings)
    harness.run(poller)
    await wait_for(lambda: count_is(harness, 3))
    await harness.stop()
    async with harness.sessions() as session:
        before = await session.scalar(select(ImapMailbox.uidvalidity))

    def rebuild(client: Any) -> None:
        client.delete('"Meldingen"')
        client.create('"Meldingen"')

    await asyncio.to_thread(dovecot.command_sync, rebuild)
    new = raw_report(99)
    for raw in [*old, new]:  # the same bytes again under new UIDs, and one new message
        await dovecot.append(raw, "Meldingen")
    again = harness.poller(settings)
    harness.run(again)
    await wait_for(lambda: count_is(harness, 4))
    await wait_for(lambda: _empty(dovecot, "Meldingen"))
    await assert_each_stored_once(harness, [*old, new])
    async with harness.sessions() as session:
        row = await session.scalar(select(ImapMailbox))
    assert row is not None and row.uidvalidity != before and row.last_uid == 4


async def _empty(dovecot: Dovecot, folder: str) -> bool:
    return not await dovecot.messages(folder)


async def test_two_nodes_on_one_mailbox_store_each_message_once(harness: Harness, dovecot: Dovecot) -> None:
    """Two relays on one database watching one mailbox (a cluster): the UID advance decides."""
    one, two = harness.poller(), harness.poller()
    harness.run(one)
    harness.run(two)
    await harness.ready(one)
    await harness.ready(two)
    raws = [raw_report(n) for n in range(20)]
    for raw in raws:
        await dovecot.append(raw)
    await wait_for(lambda: filed(dovecot, 20), timeout=20)
    await asyncio.sleep(0.3)
    await assert_each_stored_once(harness, raws)


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@sqlite_only
@pytest.mark.parametrize("mode", ["implicit", "starttls"])
async def test_tls_modes(
    harness: Harness,
    dovecot_factory: Callable[..., Dovecot],
    ca: trustme.CA,
    db_url: str,
    sink: Sink,
    tmp_path: Path,
    mode: str,
) -> None:
    cert = ca.issue_cert("127.0.0.1", "localhost")
    chain, key = tmp_path / "chain.pem", tmp_path / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(chain))
    cert.private_key_pem.write_to_path(str(key))
    for path in (chain, key):
        os.chmod(path, 0o644)
    cafile = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    import socket as _socket

    with _socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        tls_port = probe.getsockname()[1]
    secure = dovecot_factory(cert=(chain, key), tls_port=tls_port)
    port = tls_port if mode == "implicit" else secure.port
    conf = imap_conf(secure, tls=mode, port=port, host="localhost", ca_file=str(cafile))
    settings = settings_with_imap(db_url, sink.port, tmp_path, conf)
    poller = harness.poller(settings)
    harness.run(poller)
    await harness.ready(poller)
    await secure.append(raw_report(1))
    await wait_for(lambda: count_is(harness, 1))

    # The same server, but the relay does not trust its certificate: a TLS error, clearly said.
    await harness.stop()
    settings = settings_with_imap(db_url, sink.port, tmp_path, {**conf, "ca_file": None})
    distrustful = harness.poller(settings)
    harness.run(distrustful)
    await wait_for(lambda: distrustful.health.state == "backoff")
    assert "TLS error" in str(distrustful.health.last_error)
    assert "certificate verify failed" in str(distrustful.health.last_error)


@sqlite_only
async def test_xoauth2_with_a_token_command(
    harness: Harness, dovecot: Dovecot, db_url: str, sink: Sink, tmp_path: Path
) -> None:
    """XOAUTH2 as for Microsoft 365; this Dovecot takes the bearer token as the password."""
    token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.test-token"
    dovecot.users[USER] = token
    dovecot.write_users()
    command = f"{sys.executable} -c \"print('{token}')\""
    conf = imap_conf(dovecot, password=None, oauth2_token_command=command)
    poller = harness.poller(settings_with_imap(db_url, sink.port, tmp_path, conf))
    harness.run(poller)
    await harness.ready(poller)
    await dovecot.append(raw_report(1))
    await wait_for(lambda: count_is(harness, 1))
    await harness.stop()

    failing = f"{sys.executable} -c \"import sys; sys.exit('no refresh token')\""
    conf = {**conf, "oauth2_token_command": failing}
    broken: ImapPoller = harness.poller(settings_with_imap(db_url, sink.port, tmp_path, conf))
    harness.run(broken)
    await wait_for(lambda: broken.health.state == "backoff")
    assert "no refresh token" in str(broken.health.last_error)
    assert str(broken.health.last_error).startswith("login failed")
