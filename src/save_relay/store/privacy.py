"""Find and replace one address in every text, JSON and binary column of every table.

The safety net of an erasure: after the specific deletions, whatever still mentions the address (an
audit entry's detail, a display header in a stored mail, a table added later) is found here, case-
insensitively, and pseudonymised. Tables are read from ``Base.metadata`` (``save_relay.store.tables``
imports every module that defines tables), so a new table is covered without a change here.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ColumnElement,
    LargeBinary,
    String,
    Table,
    Text,
    and_,
    cast,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.states import DeliveryStatus
from save_relay.mail.parse import parse_message
from save_relay.store.holds import held_reports
from save_relay.store.tables import (
    AuditEntry,
    Base,
    CanvassAnswer,
    Delivery,
    Distribution,
    Followup,
    InboundMessage,
    Report,
    Subscriber,
    SubscriberAddress,
)

SKIP_TABLES = frozenset({"alembic_version"})


def searchable(table: Table) -> list[Column[Any]]:
    """The columns of ``table`` that can hold text: strings, JSON and bytes."""
    return [c for c in table.columns if isinstance(c.type, String | Text | JSON | LargeBinary)]


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def _mentions(session: AsyncSession, column: Column[Any], needle: str) -> ColumnElement[bool]:
    """``column`` contains ``needle`` (lower-case), ignoring case."""
    if isinstance(column.type, LargeBinary):
        # PostgreSQL: bytea as text, non-ASCII bytes as \ooo escapes; SQLite compares a blob as text.
        postgres = _dialect(session) == "postgresql"
        as_text: ColumnElement[Any] = func.encode(column, "escape") if postgres else cast(column, Text)
        return func.lower(as_text).contains(needle, autoescape=True)
    if isinstance(column.type, JSON):
        return func.lower(cast(column, Text)).contains(needle, autoescape=True)
    return func.lower(column).contains(needle, autoescape=True)


def tables() -> list[Table]:
    return [t for t in Base.metadata.sorted_tables if t.name not in SKIP_TABLES]


async def count_mentions(session: AsyncSession, address: str) -> dict[str, int]:
    """``table.column`` -> rows mentioning ``address``, for every column that has any."""
    needle = address.lower()
    found: dict[str, int] = {}
    for table in tables():
        for column in searchable(table):
            query = select(func.count()).select_from(table).where(_mentions(session, column, needle))
            if count := int(await session.scalar(query) or 0):
                found[f"{table.name}.{column.name}"] = count
    return found


def _replace(value: Any, pattern: re.Pattern[str], replacement: str) -> Any:
    """``value`` with every match of ``pattern`` replaced, inside JSON structures and bytes too."""
    if isinstance(value, str):
        return pattern.sub(replacement, value)
    if isinstance(value, bytes):
        binary = re.compile(pattern.pattern.encode("utf-8"), re.IGNORECASE)
        return binary.sub(replacement.encode("utf-8"), value)
    if isinstance(value, list):
        return [_replace(item, pattern, replacement) for item in value]
    if isinstance(value, dict):
        return {
            _replace(k, pattern, replacement): _replace(v, pattern, replacement) for k, v in value.items()
        }
    return value


async def replace_mentions(
    session: AsyncSession,
    address: str,
    replacement: str,
    *,
    keep: Mapping[str, Collection[Any]] | None = None,
) -> dict[str, int]:
    """Replace ``address`` (any case) with ``replacement`` everywhere; ``keep``: table -> primary keys
    (single-column) left alone. Returns ``table.column`` -> rows changed."""
    needle = address.lower()
    pattern = re.compile(re.escape(needle), re.IGNORECASE)
    changed: dict[str, int] = {}
    for table in tables():
        keys = list(table.primary_key.columns)
        kept = (keep or {}).get(table.name, ())
        for column in searchable(table):
            query = select(*keys, column).where(_mentions(session, column, needle))
            if kept and len(keys) == 1:
                query = query.where(keys[0].not_in(list(kept)))
            rows = (await session.execute(query)).all()
            for row in rows:
                new = _replace(row[-1], pattern, replacement)
                if new == row[-1] and isinstance(new, str | bytes):
                    continue  # matched only in a transformed form (an escaped JSON string): left as is
                where = and_(*(key == value for key, value in zip(keys, row[:-1], strict=True)))
                await session.execute(table.update().where(where).values({column.name: new}))
            if rows:
                changed[f"{table.name}.{column.name}"] = len(rows)
    return changed


# --- one person's records ---------------------------------------------------------------------------


def _is(column: Any, address: str) -> ColumnElement[bool]:
    return func.lower(column) == address.lower()


async def subscriber_addresses(session: AsyncSession, address: str) -> list[SubscriberAddress]:
    return list(
        await session.scalars(select(SubscriberAddress).where(_is(SubscriberAddress.address, address)))
    )


async def subscribers(session: AsyncSession, ids: Collection[int]) -> list[Subscriber]:
    return list(
        await session.scalars(select(Subscriber).where(Subscriber.id.in_(list(ids))).order_by(Subscriber.id))
    )


async def records(session: AsyncSession, model: Any, address: str) -> list[Any]:
    """Rows of a table with an ``address`` column (requests, events, bounces, tokens) for ``address``."""
    return list(await session.scalars(select(model).where(_is(model.address, address)).order_by(model.id)))


async def reports_by(session: AsyncSession, address: str) -> list[tuple[Report, InboundMessage, bool]]:
    """Reports sent by ``address``, with their message and whether they are on an evidence hold."""
    rows = await session.execute(
        select(Report, InboundMessage, Report.id.in_(held_reports()))
        .join(InboundMessage, InboundMessage.id == Report.inbound_id)
        .where(_is(Report.sender, address))
        .order_by(Report.id)
    )
    return [(report, inbound, bool(held)) for report, inbound, held in rows.all()]


async def deliveries_to(session: AsyncSession, address: str) -> list[tuple[Delivery, str | None]]:
    rows = await session.execute(
        select(Delivery, Report.reference)
        .outerjoin(Distribution, Distribution.id == Delivery.distribution_id)
        .outerjoin(Report, Report.id == Distribution.report_id)
        .where(_is(Delivery.recipient, address))
        .order_by(Delivery.id)
    )
    return [(delivery, reference) for delivery, reference in rows.all()]


async def answers_by(session: AsyncSession, address: str) -> list[tuple[CanvassAnswer, bytes]]:
    """Canvass answers given from ``address``, with the mail as received (for its attachments)."""
    rows = await session.execute(
        select(CanvassAnswer, InboundMessage.raw)
        .join(InboundMessage, InboundMessage.id == CanvassAnswer.inbound_id)
        .where(_is(CanvassAnswer.sender, address))
        .order_by(CanvassAnswer.id)
    )
    return [(answer, raw) for answer, raw in rows.all()]


async def audit_about(session: AsyncSession, address: str) -> list[AuditEntry]:
    needle = address.lower()
    return list(
        await session.scalars(
            select(AuditEntry)
            .where(
                _is(AuditEntry.actor, address)
                | _is(AuditEntry.object_ref, address)
                | func.lower(cast(AuditEntry.detail, Text)).contains(needle, autoescape=True)
            )
            .order_by(AuditEntry.id)
        )
    )


async def delete_rows(session: AsyncSession, model: Any, address: str) -> int:
    result = await session.execute(delete(model).where(_is(model.address, address)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def delete_empty_subscribers(session: AsyncSession, ids: Collection[int]) -> int:
    """Delete those of ``ids`` that have no address left (their memberships go with them)."""
    with_address = select(SubscriberAddress.subscriber_id)
    result = await session.execute(
        delete(Subscriber).where(Subscriber.id.in_(list(ids)), Subscriber.id.not_in(with_address))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def forget_deliveries(session: AsyncSession, address: str, pseudonym: str) -> int:
    """Queued mail to ``address`` is dropped; the others keep their row under ``pseudonym``, without bytes."""
    await session.execute(
        delete(Delivery).where(_is(Delivery.recipient, address), Delivery.status == DeliveryStatus.QUEUED)
    )
    result = await session.execute(
        update(Delivery).where(_is(Delivery.recipient, address)).values(recipient=pseudonym, message=None)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def forget_inbound(
    session: AsyncSession, address: str, pseudonym: str, keep: Collection[int], now: datetime
) -> int:
    """Mail received from ``address`` (envelope sender) loses its bytes, except the inbound ids ``keep``."""
    result = await session.execute(
        update(InboundMessage)
        .where(_is(InboundMessage.mail_from, address), InboundMessage.id.not_in(list(keep)))
        .values(mail_from=pseudonym, raw=b"", purged_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def forget_distributions(session: AsyncSession, report_ids: Collection[int]) -> None:
    """Empty the rendered messages of these reports' distributions (they credited the reporter)."""
    if report_ids:
        await session.execute(
            update(Distribution).where(Distribution.report_id.in_(list(report_ids))).values(body=b"")
        )


# --- stored mail -----------------------------------------------------------------------------------

#: Columns that hold whole RFC 822 messages, where an address may be encoded (quoted-printable soft
#: line breaks, base64) and so invisible to a plain search.
MAIL_COLUMNS: tuple[tuple[Any, str], ...] = (
    (InboundMessage, "raw"),
    (Delivery, "message"),
    (Distribution, "body"),
    (Followup, "raw"),
)
_BATCH = 200


def mail_mentions(raw: bytes, address: str) -> bool:
    """Whether a stored message names ``address`` anywhere, once its parts and headers are decoded."""
    needle = address.lower()
    if needle.encode("utf-8") in raw.lower():
        return True
    parsed = parse_message(raw)
    decoded = [parsed.text, parsed.html or "", *(value for _, value in parsed.headers)]
    return any(needle in part.lower() for part in decoded)


async def mails_mentioning(session: AsyncSession, address: str) -> dict[str, list[int]]:
    """``table`` -> ids of the stored messages that mention ``address`` (decoded).

    A cheap prefilter keeps the rows that could: those containing the address's local part with its
    ``@``, or its ``@domain`` (a quoted-printable soft break splits an address at most once), or a
    base64 part. Only those are decoded.
    """
    needle = address.lower()
    local, _, domain = needle.rpartition("@")
    found: dict[str, list[int]] = {}
    for model, name in MAIL_COLUMNS:
        column = getattr(model, name)
        prefilter = (
            _mentions(session, column, f"{local}@")
            | _mentions(session, column, f"@{domain}")
            | _mentions(session, column, "base64")
        )
        ids = list(await session.scalars(select(model.id).where(prefilter).order_by(model.id)))
        hits: list[int] = []
        for start in range(0, len(ids), _BATCH):
            rows = await session.execute(
                select(model.id, column).where(model.id.in_(ids[start : start + _BATCH]))
            )
            hits += [row_id for row_id, raw in rows.all() if raw and mail_mentions(raw, needle)]
        if hits:
            found[model.__tablename__] = hits
    return found


async def empty_mails(session: AsyncSession, found: Mapping[str, Collection[int]], now: datetime) -> None:
    """Empty the stored messages ``found`` (by table): inbound mail is marked purged, sent mail loses its
    bytes, a distribution its rendered body, a follow-up its mail and text. A queued delivery keeps its
    message (it still has to go)."""
    if ids := list(found.get("inbound_messages", ())):
        await session.execute(
            update(InboundMessage).where(InboundMessage.id.in_(ids)).values(raw=b"", purged_at=now)
        )
    if ids := list(found.get("deliveries", ())):
        await session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids), Delivery.status != DeliveryStatus.QUEUED)
            .values(message=None)
        )
    if ids := list(found.get("distributions", ())):
        await session.execute(update(Distribution).where(Distribution.id.in_(ids)).values(body=b""))
    if ids := list(found.get("followups", ())):
        await session.execute(
            update(Followup).where(Followup.id.in_(ids)).values(raw=b"", text="", subject="", purged_at=now)
        )
