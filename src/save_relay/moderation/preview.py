"""The preview: what a distribution will send, decided once when the report is announced (invariant 7).

The text loses the reporter's signature and identifying details (``mail/preview.py``: the From name,
the company, contact, street and addresses the network holds about them, phone numbers); photos are
re-encoded without EXIF, GPS, XMP or IPTC (``mail/images.py``); other files pass as received, with a
note when their type can carry metadata. The moderator is shown exactly this, with the list of what was
removed; the raw message and its SHA-256 stay untouched as evidence.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.settings import NetworkSettings
from save_relay.mail.attachments import extract
from save_relay.mail.i18n import (
    AttachmentNote,
    Metadata,
    Removed,
    attachment_note,
    metadata_label,
    removed_kind,
)
from save_relay.mail.images import scrub_attachment
from save_relay.mail.parse import ParsedMessage
from save_relay.mail.preview import KnownDetails, preview_text
from save_relay.store import recipients
from save_relay.store.tables import Report, ReportAttachment


@dataclass(frozen=True, slots=True)
class PreviewFile:
    """One attachment as the moderator sees it described (and, when cleaned or kept, attached)."""

    position: int
    filename: str
    content_type: str
    status: str
    size: int
    removed: tuple[str, ...]
    note: str | None
    data: bytes | None


async def make_preview(
    session: AsyncSession, report: Report, parsed: ParsedMessage, raw: bytes, conf: NetworkSettings
) -> list[PreviewFile]:
    """Decide the report's preview text and attachments (stored with it); returns the attachments."""
    details = await recipients.sender_details(session, report.subscriber_id) if report.subscriber_id else None
    known = (
        KnownDetails(
            company=details.company,
            contact=details.contact,
            street=details.street,
            addresses=details.addresses,
        )
        if details
        else None
    )
    preview = preview_text(
        parsed.text,
        display_name=parsed.sender.name if parsed.sender else "",
        sender_address=report.sender or "",
        known=known,
        language=conf.language,
    )
    report.preview_text = preview.text
    report.preview_removed = [[str(item.kind), item.text] for item in preview.removed]
    files: list[PreviewFile] = []
    for position, item in enumerate(
        extract(raw, {"reference": report.reference}) if parsed.attachments else [], start=1
    ):
        result = scrub_attachment(item.data, item.content_type, item.filename)
        row = ReportAttachment(
            report_id=report.id,
            position=position,
            filename=result.filename or item.filename,
            content_type=result.content_type,
            status=result.status,
            note=str(result.note) if result.note else None,
            removed=[str(kind) for kind in result.removed],
            data=result.data,
            original_filename=item.filename,
            original_size=len(item.data),
            original_sha256=hashlib.sha256(item.data).hexdigest(),
        )
        session.add(row)
        files.append(_file(row))
    return files


def _file(row: ReportAttachment) -> PreviewFile:
    return PreviewFile(
        position=row.position,
        filename=row.filename,
        content_type=row.content_type,
        status=row.status,
        size=len(row.data or b""),
        removed=tuple(row.removed or ()),
        note=row.note,
        data=row.data,
    )


def files_of(rows: list[ReportAttachment]) -> list[PreviewFile]:
    return [_file(row) for row in rows]


def removed_lines(report: Report, files: list[PreviewFile], language: str) -> list[str]:
    """What the preview took out, one line each, in the network's language (for the moderator)."""
    lines = [
        f"{removed_kind(Removed(kind), language)}: {text}" for kind, text in report.preview_removed or ()
    ]
    for file in files:
        labels = [metadata_label(Metadata(kind), language) for kind in file.removed]
        if labels:
            lines.append(f"{file.filename}: " + ", ".join(labels))
        if file.note:
            lines.append(f"{file.filename}: {attachment_note(AttachmentNote(file.note), language)}")
    return lines
