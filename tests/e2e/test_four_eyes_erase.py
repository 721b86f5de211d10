"""Four-eyes on ``privacy erase`` (``four_eyes.erase``) at the CLI, against a running relay on SQLite and
PostgreSQL (issue 17): the first moderator's command erases nothing and keeps a request that names the
person only by a keyed hash; the same moderator twice is refused; a second one's command erases; a
request nobody confirms lapses with a notice; both steps are in the audit log, whose chain verifies."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from save_relay.app import Relay
from save_relay.core.erased import keyed_hash
from save_relay.membership.suppress import key_of
from save_relay.store.tables import ApprovalRequest, AuditEntry, SubscriberAddress
from tests.conftest import MODERATORS, make_settings, seed_demo
from tests.e2e.test_cli import relay_config, run_cli, write_config
from tests.helpers import Sink, wait_for

PERSON = "info@houthandel-peeters.example"
FIRST, SECOND = MODERATORS


async def start(db_url: str, sink: Sink, tmp_path: Path, moderators: list[str], hours: float) -> Relay:
    settings = make_settings(db_url, sink.port, tmp_path, scheduler={"tick_seconds": 0.5})
    conf = settings.networks["industrie"]
    rules = conf.four_eyes.model_copy(update={"erase": True, "hours": hours})
    settings.networks["industrie"] = conf.model_copy(update={"four_eyes": rules, "moderators": moderators})
    server = Relay(settings)
    await server.start(migrate=False)
    await seed_demo(server.engine, server)
    return server


@pytest.fixture
async def two(db_url: str, sink: Sink, tmp_path: Path) -> AsyncIterator[Relay]:
    server = await start(db_url, sink, tmp_path, MODERATORS, hours=24)
    yield server
    await server.stop()


@pytest.fixture
async def alone(db_url: str, sink: Sink, tmp_path: Path) -> AsyncIterator[Relay]:
    """One moderator; a request lapses after 2 s."""
    server = await start(db_url, sink, tmp_path, MODERATORS[:1], hours=2 / 3600)
    yield server
    await server.stop()


def command_line(relay: Relay, tmp_path: Path) -> Any:
    """``save-relay ARGS`` in another process, on the relay's database, with its network's moderators."""
    data = relay_config(tmp_path)
    data["database"]["url"] = relay.settings.database.url
    network = data["networks"]["industrie"]
    network["four_eyes"]["erase"] = True
    network["four_eyes"]["hours"] = relay.settings.networks["industrie"].four_eyes.hours  # the CLI sets it
    network["moderators"] = list(relay.settings.networks["industrie"].moderators)
    config = write_config(tmp_path / "save-relay.toml", data)

    async def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(run_cli, config, *args, cwd=tmp_path)

    return cli


async def erase(cli: Any, address: str, *who: str) -> subprocess.CompletedProcess[str]:
    result: subprocess.CompletedProcess[str] = await cli(
        "privacy", "erase", address, "--yes", *(("--as", who[0]) if who else ())
    )
    return result


async def still_there(relay: Relay) -> int:
    async with relay.sessions() as session:
        query = select(func.count()).select_from(SubscriberAddress).where(SubscriberAddress.address == PERSON)
        return int(await session.scalar(query) or 0)


async def requests(relay: Relay) -> list[ApprovalRequest]:
    async with relay.sessions() as session:
        return list(await session.scalars(select(ApprovalRequest).order_by(ApprovalRequest.id)))


async def log(relay: Relay) -> list[tuple[str, str, str | None, dict[str, Any]]]:
    async with relay.sessions() as session:
        rows = await session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("personal_data_%")).order_by(AuditEntry.id)
        )
        return [(row.action, row.actor, row.object_ref, dict(row.detail)) for row in rows]


async def test_two_moderators_erase_and_the_request_keeps_no_address(
    two: Relay, sink: Sink, tmp_path: Path
) -> None:
    relay = two
    cli = command_line(relay, tmp_path)
    subject = keyed_hash(key_of(relay.settings), PERSON)
    assert await still_there(relay) == 1

    nameless = await erase(cli, PERSON)
    assert nameless.returncode == 1 and "--as MODERATOR" in nameless.stderr, nameless.stderr
    first = await erase(cli, PERSON, FIRST)
    assert first.returncode == 0 and "waits for a second moderator" in first.stdout, first.stderr
    assert "nothing was erased" in first.stdout
    assert await still_there(relay) == 1
    [waiting] = await requests(relay)
    assert (waiting.kind, waiting.status, waiting.subject, waiting.first_by) == (
        "erasure",
        "waiting",
        subject,
        FIRST,
    )
    asked = await wait_for(
        lambda: [m for m in sink.to(SECOND) if "tweede moderator gevraagd" in str(m.message["Subject"])]
    )
    assert PERSON not in asked[0].message.as_string() and FIRST in asked[0].message.as_string()

    again = await erase(cli, PERSON, FIRST)
    assert again.returncode == 1 and "four-eyes needs another moderator" in again.stderr, again.stderr
    stranger = await erase(cli, PERSON, "iemand@politie.lommel.be")
    assert stranger.returncode == 1 and "not a moderator" in stranger.stderr
    assert await still_there(relay) == 1

    second = await erase(cli, PERSON.upper(), SECOND)  # the same address, typed otherwise: the same hash
    assert second.returncode == 0 and "erased; it appears as erased-" in second.stdout, second.stderr
    assert await still_there(relay) == 0
    [done] = await requests(relay)
    assert (done.status, done.second_by, done.subject) == ("confirmed", SECOND, subject)
    assert PERSON not in repr([getattr(done, c.key) for c in ApprovalRequest.__table__.columns])
    entries = await log(relay)
    assert [(action, actor) for action, actor, _, _ in entries] == [
        ("personal_data_erase_waiting", FIRST),
        ("personal_data_erased", SECOND),
    ]
    assert entries[0][2] == subject and entries[1][3]["first_approval"]["by"] == FIRST
    assert PERSON not in repr(entries)
    verified = await cli("audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr


async def test_one_moderator_waits_and_the_request_lapses_with_a_notice(
    alone: Relay, sink: Sink, tmp_path: Path
) -> None:
    relay = alone
    cli = command_line(relay, tmp_path)
    first = await erase(cli, PERSON, FIRST)
    assert first.returncode == 0 and "waits for a second moderator" in first.stdout, first.stderr
    notice = await wait_for(
        lambda: [
            m for m in sink.to(FIRST) if "vervallen zonder tweede moderator" in str(m.message["Subject"])
        ],
        timeout=30,
    )
    assert "Er werd niets gewist" in notice[0].message.get_body().get_content()  # type: ignore[union-attr]
    assert await still_there(relay) == 1
    [lapsed] = await requests(relay)
    assert lapsed.status == "lapsed"
    assert [(action, actor) for action, actor, _, _ in await log(relay)] == [
        ("personal_data_erase_waiting", FIRST),
        ("personal_data_erase_lapsed", "system"),
    ]
    verified = await cli("audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
