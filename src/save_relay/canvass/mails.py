"""The mails of a canvass, rendered from ``templates/<lang>/canvass*.txt`` and queued as deliveries.

The question (and the reminder) is rendered once; each recipient's copy gets its own ``To``,
``Message-ID`` and ``Reply-To: industrie+reply-TOKEN@...``, the token that ties an answer to the
recipient. Only the tokens' hashes are stored, so a reminder carries a fresh token of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.canvass.results import local_time
from save_relay.core.addresses import header_safe
from save_relay.core.context import Context, NetworkRef, network_from
from save_relay.core.routing import Purpose
from save_relay.core.tokens import new_token
from save_relay.delivery.notices import base_context, notice_headers, rendered_bytes
from save_relay.mail.attachments import Extracted
from save_relay.mail.compose import as_bytes, build_message, make_message_id, render
from save_relay.store import deliveries
from save_relay.store.tables import Canvass

MAX_MAIL_ATTACHMENT_BYTES = 15 * 1024 * 1024  # the rest is listed, to be fetched with the CLI


def canvass_context(network: NetworkRef, canvass: Canvass) -> dict[str, Any]:
    """What every canvass template may show: where, when, the question, the deadline."""
    tz = network.settings.timezone
    window = ""
    if canvass.window_start is not None and canvass.window_end is not None:
        start, end = local_time(canvass.window_start, tz), local_time(canvass.window_end, tz)
        same_day = start[:10] == end[:10]
        window = start if start == end else f"{start} – {end[11:] if same_day else end}"
    radius = canvass.radius_m
    return {
        **base_context(network.settings),
        "canvass_id": canvass.id,
        "title": canvass.title,
        "question": canvass.question,
        "place": canvass.place,
        "radius": (f"{radius / 1000:g} km" if radius >= 1000 else f"{radius:g} m") if radius else "",
        "zones": list(canvass.zones or []),
        "window": window,
        "send": local_time(canvass.send_at, tz),
        "remind": local_time(canvass.remind_at, tz),
        "close": local_time(canvass.close_at, tz),
        "owner": canvass.owner,
    }


def question_messages(
    ctx: Context, network: NetworkRef, canvass: Canvass, recipients: Sequence[tuple[int, str]], template: str
) -> tuple[list[tuple[str, bytes]], list[tuple[str, int]]]:
    """Each recipient's copy of ``template`` (``canvass`` or ``canvass_reminder``) and its reply token.

    Returns ``[(address, message)]`` and ``[(token, recipient id)]``.
    """
    conf = network.settings
    rendered = render(conf.language, template, canvass_context(network, canvass))
    shared = as_bytes(
        build_message(
            sender=network_from(conf),
            to=None,
            rendered=rendered,
            domain=conf.domain,
            extra_headers=[
                ("Auto-Submitted", "auto-generated"),  # no out-of-office replies, please (RFC 3834)
                ("X-Auto-Response-Suppress", "OOF, AutoReply"),
                ("X-Save-Relay-Network", conf.address),
                ("X-Save-Relay-Canvass", str(canvass.id)),
            ],
        )
    )
    messages: list[tuple[str, bytes]] = []
    tokens: list[tuple[str, int]] = []
    for recipient_id, address in recipients:
        token = new_token()
        personal = (
            f"To: {header_safe(address)}\r\n"
            f"Reply-To: {header_safe(ctx.subaddress(conf, Purpose.REPLY, token))}\r\n"
            f"Message-ID: {header_safe(make_message_id(conf.domain))}\r\n"
        )
        messages.append((address, personal.encode("utf-8") + shared))
        tokens.append((token, recipient_id))
    return messages, tokens


def fitting(items: Sequence[tuple[str, Extracted]]) -> tuple[list[tuple[str, Extracted]], list[str]]:
    """The attachments that fit in one mail (MAX_MAIL_ATTACHMENT_BYTES in all), and the names of the rest."""
    fit: list[tuple[str, Extracted]] = []
    left_out: list[str] = []
    total = 0
    for name, item in items:
        if total + len(item.data) > MAX_MAIL_ATTACHMENT_BYTES:
            left_out.append(name)
        else:
            total += len(item.data)
            fit.append((name, item))
    return fit, left_out


def queue_with_attachments(
    session: AsyncSession,
    network: NetworkRef,
    *,
    kind: str,
    template: str,
    to: str,
    context: Mapping[str, Any],
    attachments: Sequence[tuple[str, Extracted]] = (),
    reply_to: str | None = None,
) -> None:
    """Render and queue one mail to ``to`` carrying ``attachments``, ``(file name, attachment)`` each."""
    conf = network.settings
    rendered = render(conf.language, template, {**base_context(conf), **context})
    if not attachments:  # most answers: composed without the email package
        raw = rendered_bytes(network, kind=kind, rendered=rendered, to=to, reply_to=reply_to)
        deliveries.enqueue(session, network_id=network.id, kind=kind, recipient=to, message=raw)
        return
    message = build_message(
        sender=network_from(conf),
        to=to,
        rendered=rendered,
        domain=conf.domain,
        reply_to=reply_to,
        extra_headers=notice_headers(conf, kind),
    )
    for name, item in attachments:
        maintype, _, subtype = item.content_type.partition("/")
        message.add_attachment(
            item.data, maintype=maintype or "application", subtype=subtype or "octet-stream", filename=name
        )
    deliveries.enqueue(session, network_id=network.id, kind=kind, recipient=to, message=as_bytes(message))
