"""Erasure that holds: an erased recipient gets no canvass reminder due after the erasure (nor any other
mail), and the next import or subscription refuses the address until an admin lifts the suppression."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from save_relay.app import Relay
from save_relay.membership.privacy import erase
from save_relay.membership.subscribers import import_csv
from save_relay.membership.suppress import key_of, lift, refusal
from save_relay.store.tables import Delivery, Suppression
from tests.e2e.canvass_support import canvass_settings, post_request, questions, start_relay
from tests.e2e.test_canvass_flow import REQUEST
from tests.e2e.test_cli import relay_config, run_cli, write_config
from tests.e2e.test_subscriptions import REQUEST as SUBSCRIBE_ADDRESS
from tests.e2e.test_subscriptions import mail
from tests.helpers import Sink, wait_for

ROOT = Path(__file__).resolve().parents[2]
ERASED = "info@houthandel-peeters.example"


@pytest.fixture
async def relay(db_url: str, sink: Sink, tmp_path: Path) -> AsyncIterator[Relay]:
    server = await start_relay(canvass_settings(db_url, sink, tmp_path))
    yield server
    await server.stop()


async def test_erased_recipient_is_never_mailed_again_nor_imported(relay: Relay, sink: Sink) -> None:
    await post_request(relay, REQUEST)
    sent = await wait_for(lambda: len(questions(sink, 1)) >= 7 and questions(sink, 1))
    assert ERASED in {r for m in sent for r in m.rcpt_tos}
    async with relay.sessions() as session, session.begin():
        await erase(session, relay.settings, ERASED, actor="cli:test")

    reminded = await wait_for(
        lambda: len(questions(sink, 1, reminder=True)) >= 6 and questions(sink, 1, True)
    )
    recipients = {r for m in sink.messages for r in m.rcpt_tos}
    assert ERASED not in {r for m in reminded for r in m.rcpt_tos}
    assert not [r for r in recipients if r.endswith("@erased.invalid")]
    async with relay.sessions() as session:
        stored = list(await session.scalars(select(Suppression.hash)))
        to_pseudonyms = list(
            await session.scalars(select(Delivery.status).where(Delivery.recipient.like("%@erased.invalid")))
        )
    assert len(stored) == 1 and ERASED not in stored[0]  # a keyed hash, not the address
    assert to_pseudonyms == ["sent"]  # the question, sent before the erasure; no reminder was queued

    csv_text = (ROOT / "config" / "subscribers.csv").read_text(encoding="utf-8")
    key = key_of(relay.settings)
    network_id = relay.ctx.networks["industrie"].id  # type: ignore[union-attr]
    async with relay.sessions() as session, session.begin():
        result = await import_csv(session, network_id, csv_text, create_groups=True, suppression_key=key)
    assert [str(e) for e in result.errors] == [f"line 6: {refusal(ERASED)}"]
    assert "was erased on request" in refusal(ERASED)
    await mail(relay, ERASED, SUBSCRIBE_ADDRESS, "subscribe", "")
    [answer] = await wait_for(
        lambda: [m for m in sink.to(ERASED) if "niet mogelijk" in str(m.message["Subject"])]
    )
    assert "op verzoek gewist" in answer.message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    async with relay.sessions() as session, session.begin():
        assert await lift(session, key, ERASED, actor="cli:test")
        again = await import_csv(session, network_id, csv_text, create_groups=True, suppression_key=key)
    assert again.errors == () and again.created == 1


def test_erased_bytes_leave_the_sqlite_file_and_its_wal(tmp_path: Path) -> None:
    config = write_config(tmp_path / "save-relay.toml", relay_config(tmp_path))
    assert run_cli(config, "init", "--demo", cwd=tmp_path).returncode == 0
    address = "security@metaalwerken-vos.example"
    database = tmp_path / "relay.sqlite3"
    files = [database, database.with_name(database.name + "-wal")]
    assert any(address.encode() in path.read_bytes() for path in files if path.exists())
    result = run_cli(config, "privacy", "erase", address, "--yes", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for path in files:
        if path.exists():
            data = path.read_bytes()
            assert address.encode() not in data and b"metaalwerken-vos.example" not in data.lower(), path
