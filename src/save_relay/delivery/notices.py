"""One-off mails the network sends (acknowledgement, moderator notification, confirmation, error).

Each is rendered from a template and queued as a delivery in the caller's transaction, so it is sent
at least once if and only if the change it reports is committed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.context import Context, NetworkRef, network_from
from save_relay.core.routing import Purpose
from save_relay.core.settings import NetworkSettings
from save_relay.core.tlp import Label
from save_relay.mail.compose import (
    Rendered,
    as_bytes,
    build_message,
    make_message_id,
    render,
    text_message_bytes,
)
from save_relay.mail.labels import labelled
from save_relay.store import deliveries
from save_relay.store import tokens as token_store
from save_relay.store.tables import Report


def queue_notice(
    session: AsyncSession,
    network: NetworkRef,
    *,
    kind: str,
    template: str,
    to: str,
    context: Mapping[str, Any],
    reply_to: str | None = None,
    in_reply_to: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    message_id: str | None = None,
) -> None:
    """Render ``template`` in the network's language and queue it for ``to`` (``message_id``: ours
    instead of a fresh one, e.g. one that names a report: ``mail/message_ids``)."""
    conf = network.settings
    rendered = render(conf.language, template, {**base_context(conf), **context})
    message = rendered_bytes(
        network,
        kind=kind,
        rendered=rendered,
        to=to,
        reply_to=reply_to,
        in_reply_to=in_reply_to,
        headers=headers,
        message_id=message_id,
    )
    deliveries.enqueue(session, network_id=network.id, kind=kind, recipient=to, message=message)


def rendered_bytes(
    network: NetworkRef,
    *,
    kind: str,
    rendered: Rendered,
    to: str,
    reply_to: str | None = None,
    in_reply_to: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    message_id: str | None = None,
) -> bytes:
    """An already rendered notice for ``to``, as the message to queue."""
    conf = network.settings
    return text_message_bytes(
        sender=network_from(conf),
        to=to,
        rendered=rendered,
        domain=conf.domain,
        reply_to=reply_to,
        in_reply_to=in_reply_to,
        extra_headers=[*notice_headers(conf, kind, message_id), *headers],
    )


def with_attachments(
    network: NetworkRef,
    *,
    kind: str,
    rendered: Rendered,
    to: str,
    reply_to: str | None = None,
    in_reply_to: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    attachments: Sequence[tuple[str, str, bytes]] = (),
) -> bytes:
    """``rendered_bytes`` with files attached (``(file name, content type, bytes)`` each)."""
    if not attachments:  # most notices: composed without the email package
        return rendered_bytes(
            network,
            kind=kind,
            rendered=rendered,
            to=to,
            reply_to=reply_to,
            in_reply_to=in_reply_to,
            headers=headers,
        )
    conf = network.settings
    message = build_message(
        sender=network_from(conf),
        to=to,
        rendered=rendered,
        domain=conf.domain,
        reply_to=reply_to,
        in_reply_to=in_reply_to,
        extra_headers=[*notice_headers(conf, kind), *headers],
    )
    for filename, content_type, data in attachments:
        maintype, _, subtype = content_type.partition("/")
        message.add_attachment(
            data, maintype=maintype or "application", subtype=subtype or "octet-stream", filename=filename
        )
    return as_bytes(message)


def notice_headers(conf: NetworkSettings, kind: str, message_id: str | None = None) -> list[tuple[str, str]]:
    """The headers every mail of the relay carries besides From/To/Subject: a Message-ID (``message_id``
    or a fresh one), what kind of automatic mail it is (RFC 3834), and the network it comes from."""
    return [
        ("Message-ID", message_id or make_message_id(conf.domain)),
        ("Auto-Submitted", "auto-replied" if kind in {"ack", "error"} else "auto-generated"),
        ("X-Save-Relay-Network", conf.address),
    ]


def base_context(conf: NetworkSettings) -> dict[str, Any]:
    return {"network_name": conf.name, "network_address": conf.address}


async def notify_moderators(
    session: AsyncSession,
    ctx: Context,
    network: NetworkRef,
    *,
    purpose: str,
    kind: str,
    template: str,
    expires_at: datetime,
    context: Mapping[str, Any],
    report_id: int | None = None,
    request_id: int | None = None,
    headers: Iterable[tuple[str, str]] = (),
    attachments: Sequence[tuple[str, str, bytes]] = (),
    label: Label | None = None,
    moderators: Sequence[str] | None = None,
) -> None:
    """Queue ``template`` to every moderator, each with a reply address of their own: a token of
    ``purpose`` bound to that moderator and to the report or request it is about; ``attachments``
    (file name, content type, bytes) go with each (a report's photos, for the moderator to judge).
    ``label``: the report's TLP label, at the head of the subject and body (``mail/labels.py``);
    ``moderators``: only these (default: all of the network's)."""
    conf = network.settings
    extra = list(headers)
    rendered = render(conf.language, template, {**base_context(conf), **context})  # the same for each
    if label is not None:
        rendered = labelled(rendered, label)
    moderators = list(conf.moderators if moderators is None else moderators)
    tokens = await token_store.issue_many(
        session,
        purpose=purpose,
        network_id=network.id,
        addresses=moderators,
        expires_at=expires_at,
        report_id=report_id,
        request_id=request_id,
    )
    messages = [
        (
            moderator,
            with_attachments(
                network,
                kind=kind,
                rendered=rendered,
                to=moderator,
                reply_to=ctx.subaddress(conf, Purpose.CONFIRM, token),
                headers=extra,
                attachments=attachments,
            ),
        )
        for moderator, token in zip(moderators, tokens, strict=True)
    ]
    await deliveries.enqueue_many(session, network_id=network.id, kind=kind, messages=messages)  # one INSERT


async def ask_moderators(
    session: AsyncSession,
    ctx: Context,
    network: NetworkRef,
    report: Report,
    *,
    kind: str,
    template: str,
    expires_at: datetime,
    context: Mapping[str, Any],
    attachments: Sequence[tuple[str, str, bytes]] = (),
    moderators: Sequence[str] | None = None,
) -> None:
    """``notify_moderators`` about ``report``: confirm tokens bound to it, its reference in a header,
    its TLP label at the head (the notification, the reminder and the four-eyes request)."""
    await notify_moderators(
        session,
        ctx,
        network,
        purpose="confirm",
        report_id=report.id,
        headers=[("X-Save-Relay-Reference", report.reference or "")],
        kind=kind,
        template=template,
        expires_at=expires_at,
        context=context,
        attachments=attachments,
        label=Label(report.tlp),
        moderators=moderators,
    )
