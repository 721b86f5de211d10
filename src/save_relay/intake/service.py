"""The one entry point of every intake (SMTP, LMTP, IMAP): check a recipient, store a message durably.

Nothing after the commit happens here: acknowledgements, notifications and commands run later from the
database (``save_relay.processing``), so an answer of 250 means only and exactly "it is on disk".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.config import Settings
from save_relay.db import SessionFactory
from save_relay.routing import Purpose, Refusal, Route, resolve
from save_relay.store.inbound import Envelope, store_message
from save_relay.store.networks import NetworkRef

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Stored:
    """One recipient's copy, committed: ``reference`` is set for a report."""

    recipient: str
    inbound_id: int
    reference: str | None


class Intake:
    """Recipient policy and durable storage, shared by all intake protocols."""

    def __init__(
        self,
        settings: Settings,
        sessions: SessionFactory,
        networks: dict[str, NetworkRef],
        on_stored: Callable[[], None] = lambda: None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.networks = networks
        self.on_stored = on_stored

    def check_recipient(self, recipient: str) -> Route | Refusal:
        return resolve(self.settings, recipient)

    async def accept(
        self, raw: bytes, *, mail_from: str, routes: Sequence[Route], peer: str = "", via: str = "smtp"
    ) -> list[Stored]:
        """Store ``raw`` once per route in one transaction; returns only after the commit."""
        async with self.sessions() as session, session.begin():
            stored = await self.store(session, raw, mail_from=mail_from, routes=routes, peer=peer, via=via)
        self.committed(stored, mail_from=mail_from, via=via)
        return stored

    async def store(
        self,
        session: AsyncSession,
        raw: bytes,
        *,
        mail_from: str,
        routes: Sequence[Route],
        peer: str = "",
        via: str = "smtp",
    ) -> list[Stored]:
        """Add ``raw`` once per route to the caller's transaction (the IMAP intake commits its UID with it).

        The caller commits, then calls ``committed()``.
        """
        stored: list[Stored] = []
        for route in routes:
            network = self.networks[route.network_key]
            message, report = await store_message(
                session,
                network_id=network.id,
                purpose=route.purpose.value,
                token=route.token,
                raw=raw,
                envelope=Envelope(mail_from=mail_from, rcpt_to=route.address, peer=peer, via=via),
                reference_prefix=network.settings.reference_prefix if route.purpose is Purpose.POST else None,
            )
            stored.append(Stored(route.address, message.id, report.reference if report else None))
        return stored

    def committed(self, stored: Sequence[Stored], *, mail_from: str, via: str) -> None:
        """After the commit: log it and wake the processor."""
        log.info(
            "stored %d message(s) from %s",
            len(stored),
            mail_from or "<>",
            extra={"action": "intake_stored", "refs": [s.reference for s in stored], "via": via},
        )
        self.on_stored()
