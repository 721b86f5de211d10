"""Automatic mail to a network's plain address (out of office, bounces) is no report.

Such a report is marked ``discarded`` with the reason, audited and kept (``queue list --all`` shows it);
nobody is notified and nothing is answered.
"""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import utcnow
from save_relay.core.settings import NetworkSettings
from save_relay.mail.autoreply import is_auto_reply
from save_relay.mail.parse import ParsedMessage
from save_relay.store import audit
from save_relay.store.tables import InboundMessage, Report


def automatic_reason(parsed: ParsedMessage, network: NetworkSettings | None = None) -> str | None:
    """Why ``parsed`` is automatic mail that must not become a report, or None.

    With ``network``: our own mail coming back (its ``X-Save-Relay-Network`` header or its ``List-Id``
    names this network) is a mail loop.
    """
    if network is not None and _is_loop(parsed, network):
        return "mail loop"
    if is_auto_reply(parsed.header):
        return "automatic reply"
    if parsed.from_mailer_daemon:
        return "delivery report from a mailer daemon"
    return None


def _is_loop(parsed: ParsedMessage, network: NetworkSettings) -> bool:
    ours = (parsed.header("X-Save-Relay-Network") or "").strip().strip("<>").strip().lower()
    if ours == network.address:
        return True
    list_id = re.findall(r"<([^<>]*)>", parsed.header("List-Id") or "")
    return bool(list_id) and list_id[-1].strip().lower() == f"{network.local_part}.{network.domain}"


async def discard(
    session: AsyncSession, inbound: InboundMessage, report: Report, parsed: ParsedMessage, reason: str
) -> None:
    """Mark the report discarded (with its subject and sender, for the queue list), in the caller's
    transaction."""
    report.subject = parsed.subject[:300]
    if parsed.sender is not None:
        report.sender, report.sender_name = parsed.sender.address.lower(), parsed.sender.name[:200]
    report.status, report.reason, report.decided_at, report.decided_by = (
        "discarded",
        reason,
        utcnow(),
        "system",
    )
    audit.record(
        session,
        action="report_discarded",
        actor=inbound.mail_from or "<>",
        via=inbound.via,
        network_id=inbound.network_id,
        object_ref=report.reference,
        reason=reason,
        sha256=inbound.sha256,
    )
