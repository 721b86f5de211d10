"""Four-eyes approval of a large canvass over real SMTP, the CLI and the console, on SQLite and PostgreSQL
(issue 17): a canvass to more companies than ``four_eyes.canvass_companies_above`` is not sent before a
second, different moderator approves it; the same one twice is refused; without a second one it lapses,
is cancelled and the moderators are told; both approvals are in the audit log, whose chain verifies."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from save_relay.app import Relay
from save_relay.canvass.foureyes import approve
from save_relay.core.errors import CommandRefused
from save_relay.processing.gate import Actor
from save_relay.store import canvass as canvass_store
from save_relay.store.tables import ApprovalRequest, AuditEntry
from tests.conftest import MODERATORS
from tests.e2e.canvass_support import (
    OWNER,
    VOS,
    answer,
    canvass_row,
    canvass_settings,
    expected_near,
    mails_to,
    post_request,
    questions,
    start_relay,
    text_of,
    wait_status,
)
from tests.e2e.test_cli import relay_config, run_cli, write_config
from tests.e2e.test_console_reports import csrf_of, moderator
from tests.helpers import Sink, wait_for
from tests.web_support import base_url

SECOND = MODERATORS[1]
REQUEST = "near: Metaalwerken Vos NV\nradius: 600 m\nsend: now\nclose: 1h\n\nZag u een witte bestelwagen?"
SIX = len(set(expected_near(VOS, 600).values()))  # companies within 600 m of Metaalwerken Vos


def rules(**values: Any) -> dict[str, Any]:
    return {"canvass_companies_above": 5, **values}


async def start(db_url: str, sink: Sink, tmp_path: Path, moderators: list[str], **four_eyes: Any) -> Relay:
    settings = canvass_settings(db_url, sink, tmp_path)
    conf = settings.networks["industrie"]
    update = {"four_eyes": conf.four_eyes.model_copy(update=four_eyes), "moderators": moderators}
    settings.networks["industrie"] = conf.model_copy(update=update)
    return await start_relay(settings)


@pytest.fixture
async def two(db_url: str, sink: Sink, tmp_path: Path) -> AsyncIterator[Relay]:
    server = await start(db_url, sink, tmp_path, MODERATORS, **rules())
    yield server
    await server.stop()


@pytest.fixture
async def alone(db_url: str, sink: Sink, tmp_path: Path) -> AsyncIterator[Relay]:
    """One moderator: a first approval lapses after 2 s."""
    server = await start(db_url, sink, tmp_path, MODERATORS[:1], **rules(hours=2 / 3600))
    yield server
    await server.stop()


async def steps(relay: Relay, canvass_id: int = 1) -> list[tuple[str, str, dict[str, Any]]]:
    async with relay.sessions() as session:
        query = (
            select(AuditEntry)
            .where(AuditEntry.object_ref == canvass_store.ref(canvass_id))
            .order_by(AuditEntry.id)
        )
        return [(row.action, row.actor, dict(row.detail)) for row in await session.scalars(query)]


async def not_sent_after_ticks(relay: Relay, sink: Sink, canvass_id: int = 1) -> None:
    """Several scheduler ticks (0.2 s) pass and the canvass is still waiting, unsent."""
    await asyncio.sleep(1.5)
    assert questions(sink, canvass_id) == []
    row = await canvass_row(relay, canvass_id)
    assert row is not None and row.status == "scheduled" and row.sent_at is None and row.due_at is None


async def second_approval(relay: Relay, who: str, canvass_id: int = 1) -> str:
    assert relay.ctx is not None
    async with relay.sessions() as session, session.begin():
        found = await canvass_store.get(session, canvass_id, lock=True)
        return await approve(session, relay.ctx, found, Actor(who, "cli"))


async def verify(relay: Relay, tmp_path: Path) -> None:
    """``save-relay audit verify`` (another process, on the relay's database) passes."""
    data = relay_config(tmp_path)
    data["database"]["url"] = relay.settings.database.url
    config = write_config(tmp_path / "verify.toml", data)
    result = await asyncio.to_thread(run_cli, config, "audit", "verify", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


async def test_two_moderators_by_mail(two: Relay, sink: Sink, tmp_path: Path) -> None:
    relay = two
    assert SIX > 5
    await post_request(relay, REQUEST)
    waiting = (await wait_for(lambda: mails_to(sink, OWNER, "wacht op een tweede moderator")))[0]
    assert "Er gaat niets uit voor een andere moderator het goedkeurt" in text_of(waiting)
    asked = (await wait_for(lambda: mails_to(sink, SECOND, "tweede goedkeuring gevraagd")))[0]
    assert f"{OWNER} maakte buurtonderzoek #1" in text_of(asked) and f"naar {SIX} bedrijven" in text_of(asked)
    assert not mails_to(sink, OWNER, "tweede goedkeuring gevraagd")  # not asked of the first one
    await not_sent_after_ticks(relay, sink)

    with pytest.raises(CommandRefused, match="four-eyes needs another moderator"):
        await second_approval(relay, OWNER)
    await answer(relay, asked, "ok", sender=OWNER)  # someone else's reply address: refused, not sent
    await not_sent_after_ticks(relay, sink)

    await answer(relay, asked, "ok", sender=SECOND)
    sent = await wait_for(lambda: len(questions(sink, 1)) >= 7 and questions(sink, 1))
    assert sorted(r for m in sent for r in m.rcpt_tos) == sorted(expected_near(VOS, 600))
    await wait_for(lambda: mails_to(sink, OWNER, "goedgekeurd door een tweede moderator"))
    log = await steps(relay)
    assert [(a, who) for a, who, _ in log if a != "canvass_approve_refused"] == [
        ("canvass_created", OWNER),
        ("canvass_approval_waiting", OWNER),
        ("canvass_approved", SECOND),
        ("canvass_sent", "system"),
    ]
    assert [who for a, who, _ in log if a == "canvass_approve_refused"] == [OWNER]
    waited = next(detail for a, _, detail in log if a == "canvass_approval_waiting")
    assert waited["companies"] == SIX and waited["limit"] == 5
    approved = next(detail for a, _, detail in log if a == "canvass_approved")
    assert approved["first_approval"]["by"] == OWNER
    await answer(relay, asked, "ok", sender=SECOND)  # a second "ok": the reply address is spent

    async def refused_twice() -> bool:
        return [who for a, who, _ in await steps(relay) if a == "canvass_approve_refused"] == [OWNER, SECOND]

    await wait_for(refused_twice)
    assert len(questions(sink, 1)) == 7  # sent once
    await verify(relay, tmp_path)


async def test_one_moderator_waits_then_lapses_and_is_cancelled(
    alone: Relay, sink: Sink, tmp_path: Path
) -> None:
    relay = alone
    await post_request(relay, REQUEST)
    await wait_for(lambda: mails_to(sink, OWNER, "wacht op een tweede moderator"))
    lapsed = await wait_for(lambda: mails_to(sink, OWNER, "goedkeuring vervallen, geannuleerd"), timeout=30)
    assert "er werd niets verstuurd" in text_of(lapsed[0])
    row = await wait_status(relay, "cancelled")
    assert row.cancelled_by == "system" and row.sent_at is None
    await asyncio.sleep(1)
    assert questions(sink, 1) == []
    assert [a for a, _, _ in await steps(relay)] == [
        "canvass_created",
        "canvass_approval_waiting",
        "canvass_approval_lapsed",
    ]
    async with relay.sessions() as session:
        [request] = list(await session.scalars(select(ApprovalRequest)))
        assert (request.kind, request.status, request.canvass_id) == ("canvass", "lapsed", 1)
    await verify(relay, tmp_path)


async def test_a_small_canvass_goes_at_once(two: Relay, sink: Sink) -> None:
    relay = two
    await post_request(relay, REQUEST.replace("600 m", "350 m"))
    assert len(set(expected_near(VOS, 350).values())) <= 5
    await wait_for(lambda: questions(sink, 1))
    assert [a for a, _, _ in await steps(relay)][:2] == ["canvass_created", "canvass_sent"]


async def test_the_cli_approves_with_as(two: Relay, sink: Sink, tmp_path: Path) -> None:
    relay = two
    data = relay_config(tmp_path)
    data["database"]["url"] = relay.settings.database.url
    data["networks"]["industrie"]["four_eyes"]["canvass_companies_above"] = 5
    config = write_config(tmp_path / "save-relay.toml", data)

    def cli(*args: str) -> Any:
        return run_cli(config, "canvass", *args, cwd=tmp_path)

    made = await asyncio.to_thread(
        cli, "create", "--owner", OWNER, "--near", "Metaalwerken Vos NV", "--radius", "600 m",
        "--question", "Zag u een witte bestelwagen?", "--as", OWNER,
    )  # fmt: skip
    assert made.returncode == 0 and "canvass 1 waits for a second moderator" in made.stdout, made.stderr
    again = await asyncio.to_thread(cli, "approve", "1", "--as", OWNER)
    assert again.returncode == 1 and "four-eyes needs another moderator" in again.stderr, again.stderr
    stranger = await asyncio.to_thread(cli, "approve", "1", "--as", "iemand@politie.lommel.be")
    assert stranger.returncode == 1 and "not a moderator of this network" in stranger.stderr
    await not_sent_after_ticks(relay, sink)
    shown = await asyncio.to_thread(cli, "show", "1")
    assert f"four-eyes:  waits for a second moderator (first: {OWNER}, lapses " in shown.stdout, shown.stderr
    second = await asyncio.to_thread(cli, "approve", "1", "--as", SECOND.upper())
    assert second.returncode == 0 and f"canvass-1 approved by {SECOND}" in second.stdout, second.stderr
    await wait_for(lambda: len(questions(sink, 1)) >= 7)
    late = await asyncio.to_thread(cli, "approve", "1", "--as", SECOND)
    assert late.returncode == 1 and "does not wait for a second moderator" in late.stderr
    assert [(a, who) for a, who, _ in await steps(relay)][1:3] == [
        ("canvass_approval_waiting", OWNER),
        ("canvass_approved", SECOND),
    ]
    await verify(relay, tmp_path)


async def test_two_moderators_in_the_console(two: Relay, sink: Sink) -> None:
    relay = two
    clients = [httpx.AsyncClient(base_url=base_url(relay), timeout=20) for _ in MODERATORS]
    try:
        for login, client in zip(MODERATORS, clients, strict=True):
            await moderator(relay, client, login=login)
        first, other = clients
        page = await first.get("/canvasses/new")
        form = {
            "csrf": csrf_of(page.text),
            "title": "Witte bestelwagen",
            "question": "Zag u een witte bestelwagen?",
            "owner": OWNER,
            "latitude": str(VOS[0]),
            "longitude": str(VOS[1]),
            "radius": "600",
            "close": "72h",
        }
        created = await first.post("/canvasses", data=form)
        assert created.status_code == 303, created.text
        mine = await first.get("/canvasses/1")
        assert 'id="four-eyes"' in mine.text and 'action="/canvasses/1/approve"' not in mine.text
        refused = await first.post("/canvasses/1/approve", data={"csrf": csrf_of(mine.text)})
        assert refused.status_code == 409 and "four-eyes needs another moderator" in refused.text
        await not_sent_after_ticks(relay, sink)
        theirs = await other.get("/canvasses/1")
        assert 'action="/canvasses/1/approve"' in theirs.text
        done = await other.post("/canvasses/1/approve", data={"csrf": csrf_of(theirs.text)})
        assert done.status_code == 303
    finally:
        for client in clients:
            await client.aclose()
    await wait_for(lambda: len(questions(sink, 1)) >= 7)
    log = [(a, who) for a, who, _ in await steps(relay)]
    assert ("canvass_approval_waiting", OWNER) in log and ("canvass_approved", SECOND) in log
