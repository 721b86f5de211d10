"""The scheduled steps of a canvass and the handling of its answers, each in the caller's transaction.

``scheduled --send--> open --remind--> reminded --close--> closed``: a step queues its mails and moves
``status`` and ``due_at`` on in the same transaction, so it happens exactly once when it commits.
If the daemon was down past the reminder and the close, the reminder is skipped and the canvass closed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.canvass.mails import canvass_context, fitting, question_messages, queue_with_attachments
from save_relay.canvass.results import AnswerView, answer_views, attachment_name, summarize
from save_relay.canvass.service import area_of
from save_relay.core.clock import as_utc
from save_relay.core.context import Context, NetworkRef
from save_relay.core.states import CanvassStatus, ChannelEvent
from save_relay.mail.attachments import Extracted, extract
from save_relay.mail.parse import ParsedMessage
from save_relay.store import audit, channel_events, deliveries
from save_relay.store import canvass as store
from save_relay.store.canvass_targets import select_targets
from save_relay.store.tables import Canvass, CanvassAnswer, CanvassRecipient, InboundMessage

log = logging.getLogger(__name__)


def next_due(canvass: Canvass) -> datetime | None:
    """When the canvass's next step is due, from its status."""
    if canvass.status == CanvassStatus.SCHEDULED:
        return canvass.send_at
    remind_at = canvass.remind_at
    if (
        canvass.status == CanvassStatus.OPEN
        and remind_at is not None
        and as_utc(remind_at) < as_utc(canvass.close_at)
    ):
        return remind_at
    if canvass.status in (CanvassStatus.OPEN, CanvassStatus.REMINDED):
        return canvass.close_at
    return None


async def run_due_step(session: AsyncSession, ctx: Context, now: datetime) -> str | None:
    """Claim the most overdue canvass step and run it; returns what was done (None: nothing due)."""
    canvass = await store.claim_due(session, now, list(ctx.by_id))
    if canvass is None:
        return None
    network = ctx.network(canvass.network_id)
    if canvass.status == CanvassStatus.SCHEDULED:
        await send(session, ctx, network, canvass, now)
        return f"canvass {canvass.id} sent"
    if canvass.status == CanvassStatus.OPEN and now < as_utc(canvass.close_at):
        await remind(session, ctx, network, canvass, now)
        return f"canvass {canvass.id} reminded"
    await close(session, network, canvass, now)
    return f"canvass {canvass.id} closed"


async def send(
    session: AsyncSession, ctx: Context, network: NetworkRef, canvass: Canvass, now: datetime
) -> None:
    """The question to every address in the area (as of now), each with its own reply token."""
    targets = await select_targets(session, network.id, area_of(canvass), network.settings.default_groups)
    recipients = await store.add_recipients(session, canvass.id, targets)
    messages, tokens = question_messages(ctx, network, canvass, recipients, "canvass")
    await store.add_tokens(session, tokens, "question")
    await deliveries.enqueue_many(session, network_id=network.id, kind="canvass", messages=messages)
    canvass.status, canvass.sent_at, canvass.recipients = CanvassStatus.OPEN, now, len(recipients)
    canvass.due_at = next_due(canvass)
    if network.settings.canvass_answers == "digest":
        canvass.next_digest_at = now + timedelta(hours=ctx.settings.scheduler.canvass_digest_hours)
    _audit(session, canvass, "canvass_sent", recipients=len(recipients))
    _emit(session, canvass, ChannelEvent.CANVASS_SENT)
    log.info(
        "canvass %d sent to %d address(es)",
        canvass.id,
        len(recipients),
        extra={"action": "canvass_sent", "canvass_id": canvass.id},
    )


async def remind(
    session: AsyncSession, ctx: Context, network: NetworkRef, canvass: Canvass, now: datetime
) -> None:
    """One reminder to each recipient who has not answered (and was not reminded) yet."""
    silent = await store.not_answered(session, canvass.id)
    messages, tokens = question_messages(ctx, network, canvass, silent, "canvass_reminder")
    await store.add_tokens(session, tokens, "reminder")
    await deliveries.enqueue_many(session, network_id=network.id, kind="canvass-reminder", messages=messages)
    await store.mark_reminded(session, [recipient_id for recipient_id, _ in silent], now)
    canvass.status, canvass.reminded_at = CanvassStatus.REMINDED, now
    canvass.due_at = next_due(canvass)
    _audit(session, canvass, "canvass_reminded", recipients=len(silent))
    log.info(
        "canvass %d: %d reminder(s)",
        canvass.id,
        len(silent),
        extra={"action": "canvass_reminded", "canvass_id": canvass.id},
    )


def _named(answer_id: int, items: Sequence[Extracted]) -> list[tuple[str, Extracted]]:
    """An answer's attachments named ``answer-<id>-<n>-<file>``."""
    return [(attachment_name(answer_id, n, item.filename), item) for n, item in enumerate(items, start=1)]


async def _files(session: AsyncSession, views: Sequence[AnswerView]) -> list[tuple[str, Extracted]]:
    """The attachments of ``views`` from their raw messages, named ``answer-<id>-<n>-<file>``."""
    wanted = [view.id for view in views if view.attachments]
    if not wanted:
        return []
    rows = await store.answer_raws(session, wanted)
    return [
        named
        for answer_id, raw in rows
        for named in _named(answer_id, extract(raw, {"canvass_answer_id": answer_id}))
    ]


async def close(session: AsyncSession, network: NetworkRef, canvass: Canvass, now: datetime) -> None:
    """Close the canvass and send its owner the summary, with the answers' attachments."""
    canvass.status, canvass.closed_at, canvass.due_at, canvass.next_digest_at = (
        CanvassStatus.CLOSED,
        now,
        None,
        None,
    )
    summary = await summarize(session, canvass, network.settings.timezone)
    attached, left_out = fitting(await _files(session, summary.answers))
    queue_with_attachments(
        session,
        network,
        kind="canvass-summary",
        template="canvass_summary",
        to=canvass.owner,
        context={
            **canvass_context(network, canvass),
            "summary": summary,
            "rate": f"{summary.rate:.0%}",
            "attached": {name for name, _ in attached},
            "left_out": left_out,
        },
        attachments=attached,
    )
    pending = await store.answers(session, canvass.id, unforwarded=True)
    await store.mark_forwarded(session, [row.answer.id for row in pending], now)  # the summary has them
    _audit(session, canvass, "canvass_closed", recipients=summary.recipients, responses=summary.responses)
    _emit(session, canvass, ChannelEvent.CANVASS_CLOSED)
    log.info(
        "canvass %d closed: %d of %d answered",
        canvass.id,
        summary.responses,
        summary.recipients,
        extra={"action": "canvass_closed", "canvass_id": canvass.id},
    )


async def forward(
    session: AsyncSession,
    network: NetworkRef,
    canvass: Canvass,
    rows: Sequence[store.AnswerRow],
    now: datetime,
    files: list[tuple[str, Extracted]] | None = None,
) -> None:
    """Send ``rows`` to the owner: one mail per answer, or one digest for several; marks them forwarded.

    ``files``: their attachments when the caller has them already (else read from the raw mails).
    """
    if not rows:
        return
    views = answer_views(rows, network.settings.timezone)
    attached, left_out = fitting(await _files(session, views) if files is None else files)
    context = {
        **canvass_context(network, canvass),
        "answers": views,
        "attached": {name for name, _ in attached},
        "left_out": left_out,
    }
    single = len(rows) == 1
    queue_with_attachments(
        session,
        network,
        kind="canvass-answer" if single else "canvass-digest",
        template="canvass_answer" if single else "canvass_digest",
        to=canvass.owner,
        context=context,
        attachments=attached,
        reply_to=views[0].sender if single else None,
    )
    unmarked = [row.answer.id for row in rows if row.answer.forwarded_at is None]
    await store.mark_forwarded(session, unmarked, now)


async def record_answer(
    session: AsyncSession,
    network: NetworkRef,
    canvass: Canvass,
    recipient: CanvassRecipient,
    inbound: InboundMessage,
    parsed: ParsedMessage,
    text: str,
    now: datetime,
) -> CanvassAnswer:
    """Store an answer (the whole message stays in ``inbound``), count the response, forward it.

    The raw mail is parsed for attachments once; a forwarded answer is inserted already marked.
    """
    items = extract(inbound.raw, {"canvass_id": canvass.id, "inbound_id": inbound.id})
    at_once = network.settings.canvass_answers == "each" or canvass.status == CanvassStatus.CLOSED
    answer = CanvassAnswer(
        canvass_id=canvass.id,
        recipient_id=recipient.id,
        inbound_id=inbound.id,
        sender=(parsed.sender.address.lower() if parsed.sender else inbound.mail_from)[:320],
        text=text,
        attachments=[item.describe() for item in items],
        late=canvass.status == CanvassStatus.CLOSED,
        received_at=now,
        forwarded_at=now if at_once else None,  # queued below, in this same transaction
    )
    session.add(answer)
    await store.mark_responded(session, recipient.id, now)  # its autoflush inserts the answer (its id)
    _emit(session, canvass, ChannelEvent.CANVASS_ANSWER, answer_id=answer.id)
    if at_once:
        row = store.AnswerRow(answer, recipient.company, recipient.address, recipient.distance_m)
        await forward(session, network, canvass, [row], now, _named(answer.id, items))
    return answer


async def send_digests(session: AsyncSession, ctx: Context, now: datetime) -> int:
    """The answer digests that are due; returns how many canvasses had one."""
    sent = 0
    for canvass in await store.claim_digests(session, now, list(ctx.by_id)):
        network = ctx.network(canvass.network_id)
        rows = await store.answers(session, canvass.id, unforwarded=True)
        await forward(session, network, canvass, rows, now)
        interval = timedelta(hours=ctx.settings.scheduler.canvass_digest_hours)
        canvass.next_digest_at = now + interval if canvass.status != CanvassStatus.CLOSED else None
        sent += bool(rows)
    return sent


def _emit(session: AsyncSession, canvass: Canvass, event: ChannelEvent, **detail: Any) -> None:
    """Tell the webhooks (channels/), in the step's own transaction."""
    channel_events.emit(session, network_id=canvass.network_id, event=event, canvass_id=canvass.id, **detail)


def _audit(session: AsyncSession, canvass: Canvass, action: str, **detail: Any) -> None:
    audit.record(
        session,
        action=action,
        actor="system",
        via="scheduler",
        network_id=canvass.network_id,
        object_ref=store.ref(canvass.id),
        **detail,
    )
