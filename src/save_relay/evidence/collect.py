"""Gather a report's or a canvass's evidence as bundle files (relative path -> bytes).

A report's bundle: ``report.eml``, the mail exactly as intake stored it (``report.json`` gives the
SHA-256 recorded at intake, which must equal the file's); ``attachments/`` as received (with their
metadata: this is the police's copy); ``replies/`` the mail received on the report's tokens (the
moderators' decisions); ``followups/`` its follow-ups as received (their SHA-256 in ``report.json``);
``distributions/`` each distribution as rendered and sent, with its
recipient count and time in ``report.json``; ``audit.json`` the report's audit entries with their chain
hashes (``audit verify`` on the database proves they are in the chain).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import as_utc, utcnow
from save_relay.evidence.bundle import as_json
from save_relay.mail.attachments import extract, safe_filename
from save_relay.store import audit
from save_relay.store import canvass as canvass_store
from save_relay.store import evidence as store
from save_relay.store import followups as followup_store
from save_relay.store.reports import by_reference, inbound_of
from save_relay.store.tables import AuditEntry


def _when(value: datetime | None) -> str | None:
    return as_utc(value).isoformat(timespec="seconds") if value else None


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _audit(entries: list[AuditEntry]) -> list[dict[str, Any]]:
    return [
        {
            "id": e.id,
            "network_id": e.network_id,
            "at": as_utc(e.at).isoformat(timespec="microseconds"),
            "action": e.action,
            "actor": e.actor,
            "via": e.via,
            "object_ref": e.object_ref,
            "message_id": e.message_id,
            "detail": e.detail,
            "content_hash": e.content_hash,
            "prev_hash": e.prev_hash,
            "entry_hash": e.entry_hash,
        }
        for e in entries
    ]


def _attachments(raw: bytes, prefix: str, files: dict[str, bytes]) -> list[dict[str, Any]]:
    listed = []
    for number, item in enumerate(extract(raw), start=1):
        name = f"{prefix}{number}-{safe_filename(item.filename, 'attachment')}"
        files[name] = item.data
        listed.append({"file": name, "content_type": item.content_type, "sha256": _sha(item.data)})
    return listed


async def report_files(
    session: AsyncSession, reference: str, *, exported_by: str, reason: str
) -> dict[str, bytes]:
    report = await by_reference(session, reference)
    inbound = await inbound_of(session, report)
    files: dict[str, bytes] = {}
    if inbound.raw:
        files["report.eml"] = inbound.raw
    replies = []
    for reply in await store.replies_about(session, report):
        name = f"replies/{reply.id}.eml"
        if reply.raw:
            files[name] = reply.raw
        replies.append(
            {
                "file": name if reply.raw else None,
                "from": reply.mail_from,
                "sha256": reply.sha256,
                "received_at": _when(reply.received_at),
                "purpose": reply.purpose,
            }
        )
    followups = []
    for f in await followup_store.of_report(session, report.id):
        name = f"followups/{f.id}.eml"
        if f.raw:
            files[name] = f.raw
        followups.append(
            {
                "file": name if f.raw else None,
                "from": f.sender,
                "role": f.role,
                "sent_to": f.sent_to,
                "found_by": f.found_by,
                "sha256": f.sha256,
                "size": f.size,
                "received_at": _when(f.received_at),
                "purged_at": _when(f.purged_at),
            }
        )
    distributions = []
    for d in await store.distributions_of(session, report.id):
        name = f"distributions/{d.id}.eml"
        if d.body:
            files[name] = d.body
        distributions.append(
            {
                "file": name if d.body else None,
                "recipients": d.recipients,
                "created_at": _when(d.created_at),
                "zones": d.zones,
                "groups": d.groups,
            }
        )
    entries = await audit.entries_about(session, report.reference or reference)
    files["audit.json"] = as_json(_audit(entries))
    files["report.json"] = as_json(
        {
            "reference": report.reference,
            "status": report.status,
            "received_at": _when(report.received_at),
            "decided_at": _when(report.decided_at),
            "decided_by": report.decided_by,
            "sender": report.sender,
            "subject": report.subject,
            "zones": report.zones,
            "groups": report.groups,
            "tlp": {"label": report.tlp, "reporter": report.tlp_reporter, "consent": report.tlp_consent},
            "received": {
                "file": "report.eml" if inbound.raw else None,
                "sha256": inbound.sha256,
                "size": inbound.size,
                "from": inbound.mail_from,
                "to": inbound.rcpt_to,
                "via": inbound.via,
                "peer": inbound.peer,
                "purged_at": _when(inbound.purged_at),
            },
            "attachments": _attachments(inbound.raw, "attachments/", files) if inbound.raw else [],
            "replies": replies,
            "followups": followups,
            "distributions": distributions,
            "exported": {"at": _when(utcnow()), "by": exported_by, "reason": reason},
        }
    )
    return files


async def canvass_files(
    session: AsyncSession, canvass_id: int, *, exported_by: str, reason: str
) -> dict[str, bytes]:
    canvass = await canvass_store.get(session, canvass_id)
    files: dict[str, bytes] = {}
    rows = await canvass_store.answers(session, canvass_id)
    raws = dict(await canvass_store.answer_raws(session, [row.answer.id for row in rows]))
    answers = []
    for row in rows:
        raw = raws.get(row.answer.id) or b""
        name = f"answers/{row.answer.id}.eml"
        if raw:
            files[name] = raw
        answers.append(
            {
                "id": row.answer.id,
                "file": name if raw else None,
                "company": row.company,
                "address": row.address,
                "text": row.answer.text,
                "late": row.answer.late,
                "sha256": _sha(raw) if raw else None,
                "attachments": _attachments(raw, f"answers/{row.answer.id}-", files) if raw else [],
            }
        )
    entries = await audit.entries_about(session, canvass_store.ref(canvass_id))
    files["audit.json"] = as_json(_audit(entries))
    files["canvass.json"] = as_json(
        {
            "id": canvass.id,
            "title": canvass.title,
            "question": canvass.question,
            "owner": canvass.owner,
            "place": canvass.place,
            "sent_at": _when(canvass.sent_at),
            "closed_at": _when(canvass.closed_at),
            "status": canvass.status,
            "answers": answers,
            "recipients": len(await canvass_store.recipients(session, canvass_id)),
            "exported": {"at": _when(utcnow()), "by": exported_by, "reason": reason},
        }
    )
    return files
