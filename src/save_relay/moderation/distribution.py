"""An approved report becomes a distribution: one rendered message, one delivery per address."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.context import NetworkRef, network_from
from save_relay.core.tlp import Label
from save_relay.delivery.notices import base_context
from save_relay.mail.compose import Rendered, as_bytes, build_message, copy_attachments, render
from save_relay.mail.labels import labelled
from save_relay.mail.parse import ParsedMessage
from save_relay.moderation.urgent import queue_sms
from save_relay.store import deliveries, recipients, reports
from save_relay.store.recipients import named_query, recipients_query
from save_relay.store.tables import Distribution, Report, ReportAttachment


@dataclass(frozen=True, slots=True)
class Fanout:
    distribution_id: int
    recipients: int
    sms: int = 0


def list_id(network: NetworkRef) -> str:
    conf = network.settings
    return f"{conf.name} <{conf.local_part}.{conf.domain}>"


def render_distribution(
    network: NetworkRef,
    report: Report,
    parsed: ParsedMessage,
    raw: bytes,
    files: Sequence[ReportAttachment] | None = None,
    company: str | None = None,
) -> bytes:
    """The message every recipient gets, without the per-recipient headers (To, Message-ID, unsubscribe).

    What the moderator saw (invariant 7): their edited text, else the preview decided at announcement
    (never the raw text), and the attachments as the preview keeps them (photos without metadata).
    ``files`` None: a report from before previews existed, whose attachments are copied as received.
    Credit names the reporting company, never the reporter's address. The report's TLP label heads the
    Subject and the body (``mail/labels.py``), as the moderator saw it in the notification.
    """
    conf = network.settings
    credited = None
    if report.credit:
        credited = company or report.sender_name or ""
    rendered: Rendered = render(
        conf.language,
        "distribution",
        {
            **base_context(conf),
            "reference": report.reference,
            "subject": report.subject or parsed.subject or "(no subject)",
            "zones": report.zones,
            "text": _text(report, parsed),
            "credited": credited,
        },
    )
    rendered = labelled(rendered, Label(report.tlp))
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
            ("X-Save-Relay-TLP", Label(report.tlp).tag),
        ],
    )
    if files is None:
        copy_attachments(raw, message)
    else:
        for file in files:
            if file.data is None:
                continue
            maintype, _, subtype = file.content_type.partition("/")
            message.add_attachment(
                file.data,
                maintype=maintype or "application",
                subtype=subtype or "octet-stream",
                filename=file.filename,
            )
    return as_bytes(message)


def _text(report: Report, parsed: ParsedMessage) -> str:
    if report.edited_text is not None:
        return report.edited_text
    return report.preview_text if report.preview_text is not None else parsed.text


async def distribute(
    session: AsyncSession,
    network: NetworkRef,
    report: Report,
    parsed: ParsedMessage,
    raw: bytes,
    named: Sequence[str] = (),
    *,
    urgent: bool = False,
    sms_text: str | None = None,
) -> Fanout:
    """Create the distribution and its deliveries in the caller's transaction: to ``named`` addresses
    only when given (TLP:RED), else to the report's zones and groups; ``urgent``: also an SMS to each
    opted-in number of those recipients (``sms_text``: the moderator's essence)."""
    files = await reports.attachments(session, report.id) if report.preview_text is not None else None
    company = None
    if report.credit and report.subscriber_id is not None:
        details = await recipients.sender_details(session, report.subscriber_id)
        company = details.company if details else None
    distribution = Distribution(
        network_id=network.id,
        report_id=report.id,
        zones=list(report.zones),
        groups=list(report.groups),
        body=render_distribution(network, report, parsed, raw, files, company),
        urgent=urgent,
        sms_text=sms_text if urgent else None,
    )
    session.add(distribution)
    await session.flush()
    chosen = named_query(named) if named else recipients_query(network.id, report.zones, report.groups)
    count = await deliveries.fan_out(session, distribution, chosen)
    sms = 0
    if urgent:
        shown = f"{report.subject or parsed.subject or ''}: {_text(report, parsed)}".lstrip(": ")
        sms = await queue_sms(session, network, report, distribution, chosen, shown)
    return Fanout(distribution_id=distribution.id, recipients=count, sms=sms)
