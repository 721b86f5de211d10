"""What a canvass brought in: per recipient, whether and what they answered; as mail context and CSV.

Attachments are named ``answer-<answer id>-<n>-<file name>`` everywhere: in the summary mail (which
carries them), in the CSV, and in the files ``save-relay canvass results --save-attachments DIR`` writes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import as_utc
from save_relay.store import canvass as store
from save_relay.store.tables import Canvass, CanvassRecipient

CSV_COLUMNS = (
    "canvass",
    "company",
    "addresses",
    "distance_m",
    "reminded",
    "answered",
    "answer_id",
    "received",
    "sender",
    "late",
    "text",
    "attachments",
)


def local_time(value: datetime | None, timezone: str) -> str:
    """``2026-11-23 08:00`` in the network's time zone ("" for None)."""
    return as_utc(value).astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M") if value else ""


def attachment_name(answer_id: int, n: int, filename: str) -> str:
    return f"answer-{answer_id}-{n}-{filename}"


@dataclass(frozen=True, slots=True)
class AttachmentView:
    n: int
    filename: str
    content_type: str
    size: int
    name: str  # answer-<id>-<n>-<filename>


@dataclass(frozen=True, slots=True)
class AnswerView:
    id: int
    company: str
    address: str
    sender: str
    distance_m: float | None
    received: str
    text: str
    late: bool
    attachments: tuple[AttachmentView, ...] = ()


@dataclass(frozen=True, slots=True)
class Party:
    """One subscriber canvassed (at one or more addresses), with its answers."""

    company: str
    addresses: tuple[str, ...]
    distance_m: float | None
    reminded: bool
    answers: tuple[AnswerView, ...] = ()


@dataclass(frozen=True, slots=True)
class Summary:
    """A canvass's outcome per subscriber; ``rate`` is the share of subscribers who answered."""

    canvass_id: int
    title: str
    status: str
    addresses: int
    parties: tuple[Party, ...] = field(default_factory=tuple)

    @property
    def recipients(self) -> int:
        return len(self.parties)

    @property
    def responses(self) -> int:
        return sum(1 for p in self.parties if p.answers)

    @property
    def rate(self) -> float:
        return self.responses / self.recipients if self.recipients else 0.0

    @property
    def answers(self) -> list[AnswerView]:
        return sorted((a for p in self.parties for a in p.answers), key=lambda a: a.id)

    @property
    def silent(self) -> list[Party]:
        return [p for p in self.parties if not p.answers]


def answer_views(rows: Sequence[store.AnswerRow], timezone: str) -> list[AnswerView]:
    views = []
    for row in rows:
        a = row.answer
        attachments = tuple(
            AttachmentView(
                n,
                str(item.get("filename", "")),
                str(item.get("content_type", "")),
                int(item.get("size", 0)),
                attachment_name(a.id, n, str(item.get("filename", ""))),
            )
            for n, item in enumerate(a.attachments or [], start=1)
        )
        received = local_time(a.received_at, timezone)
        views.append(
            AnswerView(
                a.id,
                row.company,
                row.address,
                a.sender,
                row.distance_m,
                received,
                a.text,
                a.late,
                attachments,
            )
        )
    return views


async def summarize(session: AsyncSession, canvass: Canvass, timezone: str) -> Summary:
    """Every subscriber canvassed (nearest first) with its addresses and answers."""
    by_address: dict[str, list[AnswerView]] = {}
    for view in answer_views(await store.answers(session, canvass.id), timezone):
        by_address.setdefault(view.address, []).append(view)
    groups: dict[object, list[CanvassRecipient]] = {}
    recipients = await store.recipients(session, canvass.id)
    for r in recipients:
        groups.setdefault(r.subscriber_id if r.subscriber_id is not None else r.address, []).append(r)
    parties = tuple(
        Party(
            company=group[0].company,
            addresses=tuple(r.address for r in group),
            distance_m=group[0].distance_m,
            reminded=any(r.reminded_at is not None for r in group),
            answers=tuple(
                sorted((a for r in group for a in by_address.get(r.address, ())), key=lambda a: a.id)
            ),
        )
        for group in groups.values()
    )
    return Summary(canvass.id, canvass.title, canvass.status, len(recipients), parties)


def to_csv(summary: Summary, paths: dict[str, str] | None = None) -> str:
    """One row per answer (several for a subscriber who answered more than once), one per silent
    subscriber. ``paths`` maps an attachment's name to where it was saved (shown instead if given)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for party in summary.parties:
        head = [
            summary.canvass_id,
            party.company,
            "; ".join(party.addresses),
            f"{party.distance_m:.0f}" if party.distance_m is not None else "",
            "yes" if party.reminded else "no",
        ]
        if not party.answers:
            writer.writerow([*head, "no", "", "", "", "", "", ""])
        for answer in party.answers:
            files = "; ".join((paths or {}).get(a.name, a.name) for a in answer.attachments)
            late = "yes" if answer.late else "no"
            writer.writerow(
                [*head, "yes", answer.id, answer.received, answer.sender, late, answer.text, files]
            )
    return out.getvalue()
