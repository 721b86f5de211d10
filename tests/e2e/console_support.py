"""Helpers of the console page tests (tests/e2e/test_console_*.py, tests/browser/): two networks whose
scheduler ticks fast, an account of a role logged in over httpx, and the audit entries of an action."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import select

from save_relay.app import Relay
from save_relay.core.settings import Settings
from save_relay.core.states import AccountRole
from save_relay.store.tables import AuditEntry
from tests.conftest import make_settings
from tests.e2e.test_console_reports import OTHER, moderator
from tests.helpers import Sink

COORDINATOR = "coordinator@politie.lommel.be"


def two_networks(db_url: str, sink: Sink, tmp_path: Path) -> Settings:
    """The demo network and a second (``mol``, moderator ``OTHER``); the scheduler ticks every 0.2 s."""
    base = make_settings(db_url, sink.port, tmp_path)
    networks = {key: n.model_dump() for key, n in base.networks.items()}
    networks["mol"] = {
        **networks["industrie"],
        "address": "industrie@politie.mol.be",
        "name": "SaVE Mol",
        "reference_prefix": "MOL",
        "moderators": [OTHER],
        "default_groups": [],
    }
    return make_settings(db_url, sink.port, tmp_path, networks=networks, scheduler={"tick_seconds": 0.2})


async def log_in_as(
    relay: Relay, client: httpx.AsyncClient, role: AccountRole, login: str = COORDINATOR
) -> None:
    await moderator(relay, client, login=login, role=role)


async def entries(relay: Relay, action: str) -> list[AuditEntry]:
    async with relay.sessions() as session:
        rows = await session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
        return list(rows)
