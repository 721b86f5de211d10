"""Helpers of the console page tests (tests/e2e/test_console_*.py, tests/browser/): two networks, an
account of a role logged in over httpx, and the audit entries of an action."""

from __future__ import annotations

from pathlib import Path

import httpx
import pyotp
from sqlalchemy import select

from save_relay.app import Relay
from save_relay.core.settings import Settings
from save_relay.core.states import AccountRole
from save_relay.store.tables import AuditEntry
from tests.conftest import make_settings
from tests.e2e.test_console_login import add_account, log_in
from tests.helpers import Sink

COORDINATOR = "coordinator@politie.lommel.be"
OTHER = "agent@politie.mol.be"


def two_networks(db_url: str, sink: Sink, tmp_path: Path, **overrides: object) -> Settings:
    """The demo network and a second (``mol``, moderator ``OTHER``) whose accounts must not see the
    first's reports, subscribers, canvasses or audit entries."""
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
    return make_settings(db_url, sink.port, tmp_path, networks=networks, **overrides)


async def log_in_as(
    relay: Relay,
    client: httpx.AsyncClient,
    role: AccountRole,
    login: str = COORDINATOR,
    network: str = "industrie",
    language: str = "nl",
) -> None:
    """An account of ``role`` (speaking ``language``) with TOTP, logged in: the client holds its session
    cookie."""
    secret = await add_account(relay, login, role, totp=True, language=language, network=network)
    assert secret is not None
    assert (await log_in(client, pyotp.TOTP(secret).now(), login=login)).status_code == 303


async def entries(relay: Relay, action: str) -> list[AuditEntry]:
    async with relay.sessions() as session:
        rows = await session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
        return list(rows)
