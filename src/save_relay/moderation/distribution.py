"""An approved report becomes a distribution: one rendered message, one delivery per address."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.context import NetworkRef, network_from
from save_relay.delivery.notices import base_context
from save_relay.mail.compose import Rendered, as_bytes, build_message, copy_attachments, render
from save_relay.mail.parse import ParsedMessage
from save_relay.store import deliveries
from save_relay.store.recipients import recipients_query
from save_relay.store.tables import Distribution, Report


@dataclass(frozen=True, slots=True)
class Fanout:
    distribution_id: int
    recipients: int


def list_id(network: NetworkRef) -> str:
    conf = network.settings
    return f"{conf.name} <{conf.local_part}.{conf.domain}>"


def render_distribution(network: NetworkRef, report: Report, parsed: ParsedMessage, raw: bytes) -> bytes:
    """The message every recipient gets, without the per-recipient headers (To, Message-ID, unsubscribe)."""
    conf = network.settings
    credited = None
    if report.credit:
        credited = report.sender_name or report.sender or ""
    rendered: Rendered = render(
        conf.language,
        "distribution",
        {
            **base_context(conf),
            "reference": report.reference,
            "subject": report.subject or parsed.subject or "(no subject)",
            "zones": report.zones,
            "text": report.edited_text if report.edited_text is not None else parsed.text,
            "credited": credited,
        },
    )
    message = build_message(
        sender=network_from(conf),
        to=None,
        rendered=rendered,
        domain=conf.domain,
        extra_headers=[
            ("List-Id", list_id(network)),
            ("Precedence", "list"),
            ("X-Auto-Response-Suppress", "OOF, AutoReply"),
            ("X-Save-Relay-Network", conf.address),
            ("X-Save-Relay-Reference", report.reference or ""),
        ],
    )
    copy_attachments(raw, message)
    return as_bytes(message)


async def distribute(
    session: AsyncSession, network: NetworkRef, report: Report, parsed: ParsedMessage, raw: bytes
) -> Fanout:
    """Create the distribution and its deliveries in the caller's transaction."""
    distribution = Distribution(
        network_id=network.id,
        report_id=report.id,
        zones=list(report.zones),
        groups=list(report.groups),
        body=render_distribution(network, report, parsed, raw),
    )
    session.add(distribution)
    await session.flush()
    count = await deliveries.fan_out(
        session, distribution, recipients_query(network.id, report.zones, report.groups)
    )
    return Fanout(distribution_id=distribution.id, recipients=count)
