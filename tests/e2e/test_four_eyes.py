"""Four-eyes approval over real SMTP on SQLite and PostgreSQL (issue 17): a sensitive distribution waits for
a second, different moderator; the same one twice is refused; the second's ``ok`` sends it once; without
a second moderator the first approval lapses with a notice; both approvals are in the audit log."""

from __future__ import annotations

import asyncio
import re
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from save_relay.app import Relay
from save_relay.core.errors import CommandRefused, SaveRelayError
from save_relay.membership.holds import set_hold
from save_relay.moderation.decide import Decision, decide
from save_relay.processing.gate import Actor
from save_relay.store import holds as hold_store
from save_relay.store import reports as reports_store
from save_relay.store.db import create_engine
from save_relay.store.tables import ApprovalRequest, AuditEntry, Base, Distribution, Report
from tests.conftest import MODERATORS, make_settings, seed_demo
from tests.e2e.test_cli import relay_config, run_cli, write_config
from tests.e2e.test_console_reports import csrf_of, moderator
from tests.e2e.test_report_flow import REPORTER, distributed, notification_for, post_report, reply
from tests.e2e.test_tlp import about, body
from tests.helpers import Sink, wait_for
from tests.web_support import base_url


async def start(db_url: str, sink: Sink, tmp_path: Path, **network: Any) -> Relay:
    settings = make_settings(db_url, sink.port, tmp_path, scheduler={"tick_seconds": 0.5})
    conf = settings.networks["industrie"]
    settings.networks["industrie"] = conf.model_copy(update=network)
    server = Relay(settings)
    await server.start(migrate=False)
    await seed_demo(server.engine, server)
    return server


@pytest.fixture
async def two(db_url: str, sink: Sink, tmp_path: Path) -> AsyncIterator[Relay]:
    """Two moderators; more than 5 recipients, or releasing a hold, needs both."""
    conf = make_settings(db_url, sink.port, tmp_path).networks["industrie"]
    rules = conf.four_eyes.model_copy(update={"recipients_above": 5, "hold_release": True})
    server = await start(db_url, sink, tmp_path, four_eyes=rules)
    yield server
    await server.stop()


@pytest.fixture
async def alone(db_url: str, sink: Sink, tmp_path: Path) -> AsyncIterator[Relay]:
    """One moderator; TLP:RED and releasing a hold need a second one, who is never there; a first
    approval lapses in 2 s."""
    conf = make_settings(db_url, sink.port, tmp_path).networks["industrie"]
    rules = conf.four_eyes.model_copy(update={"tlp_red": True, "hold_release": True, "hours": 2 / 3600})
    server = await start(db_url, sink, tmp_path, moderators=MODERATORS[:1], four_eyes=rules)
    yield server
    await server.stop()


async def distributions(relay: Relay, reference: str) -> int:
    async with relay.sessions() as session:
        query = (
            select(func.count())
            .select_from(Distribution)
            .join(Report, Report.id == Distribution.report_id)
            .where(Report.reference == reference)
        )
        return int(await session.scalar(query) or 0)


async def actions(relay: Relay, reference: str) -> list[tuple[str, str, dict[str, Any]]]:
    async with relay.sessions() as session:
        rows = await session.scalars(
            select(AuditEntry).where(AuditEntry.object_ref == reference).order_by(AuditEntry.id)
        )
        return [(row.action, row.actor, dict(row.detail)) for row in rows]


async def test_two_moderators_by_reply(two: Relay, sink: Sink) -> None:
    relay = two
    reference = await post_report(relay)
    first = await notification_for(sink, MODERATORS[0], reference)
    await reply(relay, first, "ok")
    waiting = await wait_for(lambda: about(sink, MODERATORS[0], reference, "wacht op een tweede moderator"))
    assert "Er is nog niets verstuurd" in body(waiting[0])
    asked = (await wait_for(lambda: about(sink, MODERATORS[1], reference, "Tweede goedkeuring gevraagd")))[0]
    assert str(asked.message["Subject"]).startswith("[TLP:AMBER] ")
    assert MODERATORS[0] in body(asked) and "meer dan 5 ontvangers" in body(asked)
    assert not about(sink, MODERATORS[0], reference, "Tweede goedkeuring")  # not asked of the first one
    assert await distributions(relay, reference) == 0

    await reply(relay, first, "ok")  # the same moderator again: refused, still waiting
    refused = await wait_for(lambda: about(sink, MODERATORS[0], reference, "Niet uitgevoerd"))
    assert "vier-ogenprincipe vraagt een andere moderator" in body(refused[0])
    assert await distributions(relay, reference) == 0

    await reply(relay, asked, "ok", sender=MODERATORS[1])
    copies = await wait_for(lambda: distributed(sink, reference, 6))
    await wait_for(lambda: about(sink, MODERATORS[1], reference, "goedgekeurd"))
    assert len({r for m in copies for r in m.rcpt_tos}) == len([r for m in copies for r in m.rcpt_tos])
    assert await distributions(relay, reference) == 1
    log = await actions(relay, reference)
    steps = [(action, actor) for action, actor, _ in log if action.startswith("report_")]
    assert steps == [
        ("report_received", "security@metaalwerken-vos.example"),
        ("report_approval_waiting", MODERATORS[0]),
        ("report_approved", MODERATORS[1]),
    ]
    waited = next(detail for action, _, detail in log if action == "report_approval_waiting")
    assert waited["reasons"] == ["recipients"] and waited["recipients"] > 5
    approved = next(detail for action, _, detail in log if action == "report_approved")
    assert approved["first_approval"]["by"] == MODERATORS[0]
    assert any(action == "confirm_refused" for action, _, _ in log)


async def test_two_moderators_by_cli_and_a_change_is_a_new_first_approval(two: Relay, sink: Sink) -> None:
    relay = two
    assert relay.ctx is not None
    reference = await post_report(relay)
    await notification_for(sink, MODERATORS[0], reference)

    plain = Decision("approve")

    async def approve(who: str, decision: Decision = plain) -> str:
        assert relay.ctx is not None
        async with relay.sessions() as session, session.begin():
            report = await reports_store.by_reference(session, reference)
            return (await decide(session, relay.ctx, report, decision, Actor(who, "cli"))).action

    assert await approve(MODERATORS[0]) == "awaiting"
    with pytest.raises(CommandRefused, match="four-eyes needs another moderator"):
        await approve(MODERATORS[0])
    # the second changes the zones: that is an approval of its own, which waits for the first in turn
    assert await approve(MODERATORS[1], Decision("approve", zones=["lommel"])) == "awaiting"
    assert await approve(MODERATORS[0]) == "approve"
    async with relay.sessions() as session:
        rows = list(await session.scalars(select(ApprovalRequest).order_by(ApprovalRequest.id)))
        assert [(r.status, r.first_by, r.second_by) for r in rows] == [
            ("superseded", MODERATORS[0], MODERATORS[1]),
            ("confirmed", MODERATORS[1], MODERATORS[0]),
        ]
        report = await reports_store.by_reference(session, reference)
        assert report.zones == ["lommel"]
    assert await distributions(relay, reference) == 1


async def test_one_moderator_waits_then_lapses_with_a_notice(alone: Relay, sink: Sink) -> None:
    relay = alone
    reference = await post_report(relay)
    note = await notification_for(sink, MODERATORS[0], reference)
    await reply(relay, note, "tlp: red\nontvangers: recherche@politie.lommel.example")
    await wait_for(lambda: about(sink, MODERATORS[0], reference, "wacht op een tweede moderator"))
    lapsed = await wait_for(lambda: about(sink, MODERATORS[0], reference, "vervallen"), timeout=30)
    assert MODERATORS[0] in body(lapsed[0]) and "Er werd niets verstuurd" in body(lapsed[0])
    assert await distributions(relay, reference) == 0
    async with relay.sessions() as session:
        report = await reports_store.by_reference(session, reference)
        assert report.status == "pending" and report.tlp == "RED"  # the label stays; the decision waits again
    log = [action for action, _, _ in await actions(relay, reference)]
    assert log.index("report_approval_waiting") < log.index("report_approval_lapsed")
    assert not [m for m in sink.messages if "recherche@politie.lommel.example" in m.rcpt_tos]


async def test_the_migration_matches_the_models(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        async with engine.connect() as connection:
            diff = await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
                )
            )
    finally:
        await engine.dispose()

    def mine(item: Any) -> bool:
        text = repr(item)
        return "approval_requests" in text or "'tlp" in text

    assert [d for d in diff if mine(d)] == []


async def test_the_cli_names_the_moderator_with_as(two: Relay, sink: Sink, tmp_path: Path) -> None:
    """``queue approve REF --as ADDRESS`` (a subprocess on the same database): waits, refuses the same
    moderator and a stranger, and the second one sends it; ``queue show`` names the label."""
    relay = two
    reference = await post_report(relay)
    await notification_for(sink, MODERATORS[0], reference)
    data = relay_config(tmp_path)
    data["database"]["url"] = relay.settings.database.url
    data["networks"]["industrie"]["four_eyes"]["recipients_above"] = 5
    config = write_config(tmp_path / "save-relay.toml", data)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(config, "queue", *args, cwd=tmp_path)

    lower = await asyncio.to_thread(cli, "set", reference, "--tlp", "green")
    assert lower.returncode == 1 and "the reporter's consent was asked" in lower.stderr, lower.stderr
    await wait_for(lambda: about(sink, REPORTER, reference, "Toestemming gevraagd"))
    stricter = await asyncio.to_thread(cli, "set", reference, "--tlp", "TLP:AMBER+STRICT")
    assert stricter.returncode == 0 and "tlp TLP:AMBER+STRICT" in stricter.stdout, stricter.stderr
    first = await asyncio.to_thread(cli, "approve", reference, "--as", MODERATORS[0].upper())
    assert first.returncode == 0 and "waiting for a second moderator" in first.stdout, first.stderr
    again = await asyncio.to_thread(cli, "approve", reference, "--as", MODERATORS[0])
    assert again.returncode == 1 and "four-eyes needs another moderator" in again.stderr
    stranger = await asyncio.to_thread(cli, "approve", reference, "--as", "iemand@politie.lommel.be")
    assert stranger.returncode == 1 and "not a moderator of this network" in stranger.stderr
    assert await distributions(relay, reference) == 0
    second = await asyncio.to_thread(cli, "approve", reference, "--as", MODERATORS[1])
    assert second.returncode == 0 and f"{reference} approved: " in second.stdout, second.stderr
    assert second.stdout.rstrip().endswith("TLP:AMBER+STRICT")
    assert await distributions(relay, reference) == 1
    shown = await asyncio.to_thread(cli, "show", reference)
    assert re.search(r"^tlp:\s+TLP:AMBER\+STRICT \(reporter's: TLP:AMBER\)$", shown.stdout, re.M), (
        shown.stdout
    )


async def test_two_moderators_in_the_console(two: Relay, sink: Sink) -> None:
    """The console always sends its ticked zones and groups: the same targets confirm, they are no change;
    the report page shows the label."""
    relay = two
    reference = await post_report(relay, subject="[TLP:GREEN] Witte bestelwagen")
    await notification_for(sink, MODERATORS[0], reference)
    clients = [httpx.AsyncClient(base_url=base_url(relay), timeout=20) for _ in MODERATORS]
    try:
        for login, client in zip(MODERATORS, clients, strict=True):
            await moderator(relay, client, login=login)
        for client in clients:
            page = await client.get(f"/reports/{reference}")
            assert 'class="tlp">TLP:GREEN<' in page.text
            data = {"csrf": csrf_of(page.text), "action": "approve", "zones": "kolonel-dusart"}
            assert (await client.post(f"/reports/{reference}", data=data)).status_code == 303
            if client is clients[0]:
                assert await distributions(relay, reference) == 0  # the first waits
    finally:
        for client in clients:
            await client.aclose()
    assert await distributions(relay, reference) == 1
    steps = [(a, who) for a, who, _ in await actions(relay, reference) if a.startswith("report_approv")]
    assert steps == [("report_approval_waiting", MODERATORS[0]), ("report_approved", MODERATORS[1])]


async def hold(relay: Relay, reference: str, who: str, *, release: bool = True) -> str:
    rules = relay.settings.networks["industrie"].four_eyes
    async with relay.sessions() as session, session.begin():
        return await set_hold(
            session, reference, actor=who, reason="PV 2026/9", release=release, four_eyes_hours=rules.hours
        )


async def test_releasing_a_hold_needs_a_second_moderator(two: Relay) -> None:
    relay = two
    reference = await post_report(relay)
    assert "on evidence hold" in await hold(relay, reference, MODERATORS[0], release=False)
    assert "waits for a second moderator" in await hold(relay, reference, MODERATORS[0])
    with pytest.raises(SaveRelayError, match="four-eyes needs another moderator"):
        await hold(relay, reference, MODERATORS[0])
    async with relay.sessions() as session:
        assert await hold_store.get(session, (await reports_store.by_reference(session, reference)).id)
    assert "released" in await hold(relay, reference, MODERATORS[1])
    log = await actions(relay, reference)
    steps = [(a, who) for a, who, _ in log if a.startswith("evidence_hold")]
    assert steps == [
        ("evidence_hold", MODERATORS[0]),
        ("evidence_hold_release_waiting", MODERATORS[0]),
        ("evidence_hold_released", MODERATORS[1]),
    ]
    assert log[-1][2]["first_approval"]["by"] == MODERATORS[0]


async def test_a_hold_release_nobody_confirms_lapses_and_the_hold_stays(alone: Relay, sink: Sink) -> None:
    relay = alone
    reference = await post_report(relay)
    await hold(relay, reference, MODERATORS[0], release=False)
    assert "waits for a second moderator" in await hold(relay, reference, MODERATORS[0])
    notice = await wait_for(lambda: about(sink, MODERATORS[0], reference, "hold vervallen"), timeout=30)
    assert "blijft bewaard" in body(notice[0])
    async with relay.sessions() as session:
        assert await hold_store.get(session, (await reports_store.by_reference(session, reference)).id)
