"""An approved report as CAP 1.2 alerts: the Alert, and Update or Cancel messages that reference it.

- identifier ``urn:save-relay:<domain>:<reference>``, sent when the report was approved (so that a
  later Update or Cancel names it the same way); Update and Cancel get ``:update-`` / ``:cancel-`` and
  their own time, are recorded in the audit log (``cap_issued``) and reference every earlier message.
- status ``Exercise`` for an exercise (moderator reply ``oefening``), else ``Actual``.
- scope ``Public`` only for a report that may be public (``may_be_public``: TLP:CLEAR); else
  ``Restricted`` with the label, or the network's members, in ``restriction``.
- info: category Security, response Monitor, urgency Expected, severity Minor, certainty Observed
  (a judged observation, not an emergency: the network is not for emergencies); the event is the
  report's category, the description the text the moderator judged (never the raw mail).
- area: the outer rings of the report's zones as polygons; without zones, a circle around the
  incident's place (``radius_m``); without either, the description alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.channels.alerttext import exercise_mark, short_text, words
from save_relay.channels.area import cap_circle, cap_polygons
from save_relay.channels.cap import Alert, Area, MsgType, cap_time
from save_relay.channels.eligibility import tlp_of
from save_relay.core.clock import as_utc, utcnow
from save_relay.core.context import NetworkRef
from save_relay.core.errors import NotFound, SaveRelayError
from save_relay.core.states import ReportStatus
from save_relay.store import alerts as alert_store
from save_relay.store import audit, zones
from save_relay.store.tables import AuditEntry, Report

DEFAULT_RADIUS_M = 1000.0
HEADLINE = 160


@dataclass(frozen=True, slots=True)
class Issued:
    """An Update or Cancel already issued (from its ``cap_issued`` audit entry)."""

    msg_type: MsgType
    identifier: str
    sent: datetime


def may_be_public(report: Report) -> bool:
    """Only a TLP:CLEAR report may be shown to anyone; without labels, none is (all behind login)."""
    return tlp_of(report) == "CLEAR"


def identifier(network: NetworkRef, reference: str) -> str:
    return f"urn:save-relay:{network.settings.domain}:{reference}"


def issued_of(entries: list[AuditEntry]) -> list[Issued]:
    return [
        Issued(e.detail["msg_type"], e.detail["identifier"], datetime.fromisoformat(e.detail["sent"]))
        for e in entries
    ]


def _area(report: Report, shapes: dict[str, tuple[str, list[str]]], radius_m: float | None) -> Area:
    names = [shapes[slug][0] for slug in report.zones if slug in shapes]
    polygons = tuple(p for slug in report.zones if slug in shapes for p in shapes[slug][1])
    if polygons:
        return Area(", ".join(names), polygons)
    if report.place_lat is not None and report.place_lon is not None:
        circle = cap_circle(report.place_lat, report.place_lon, radius_m or DEFAULT_RADIUS_M)
        return Area(report.place_label or ", ".join(names) or report.reference or "", circles=(circle,))
    return Area(", ".join(names) or report.reference or "")


def build(
    network: NetworkRef,
    report: Report,
    shapes: dict[str, tuple[str, list[str]]],
    *,
    issued: list[Issued],
    radius_m: float | None = None,
) -> Alert:
    """The latest CAP message of ``report``: the Alert, or the last Update or Cancel issued."""
    conf, reference = network.settings, report.reference or ""
    said, zone = words(conf.language), ZoneInfo(conf.timezone)
    original = identifier(network, reference)
    approved_at = as_utc(report.decided_at or report.received_at).astimezone(zone)
    label = tlp_of(report)
    public = may_be_public(report)
    category = conf.category(report.category)
    last = issued[-1] if issued else None
    head = exercise_mark(conf.language) if report.exercise else ""
    if last is not None:
        head += f"{said[last.msg_type]}: "
    headline = f"{head}{reference}: {report.subject}"
    references = [f"{conf.address},{original},{cap_time(approved_at)}"]
    references += [f"{conf.address},{i.identifier},{cap_time(i.sent.astimezone(zone))}" for i in issued[:-1]]
    return Alert(
        identifier=last.identifier if last else original,
        sender=conf.address,
        sent=last.sent.astimezone(zone) if last else approved_at,
        status="Exercise" if report.exercise else "Actual",
        msg_type=last.msg_type if last else "Alert",
        scope="Public" if public else "Restricted",
        restriction=None if public else _restriction(label, said["restricted"].format(network=conf.name)),
        references=tuple(references) if last else (),
        language=conf.language,
        event=category.name(conf.language) if category else report.category,
        sender_name=conf.name,
        headline=headline[:HEADLINE],
        description=(report.edited_text if report.edited_text is not None else report.preview_text) or "",
        instruction=said["instruction"],
        area=_area(report, shapes, radius_m),
        parameters={"reference": reference},
    )


async def zone_polygons(session: AsyncSession, network_id: int) -> dict[str, tuple[str, list[str]]]:
    """slug -> (name, CAP polygons) of the network's zones."""
    return {s.slug: (s.name, cap_polygons(s.geojson)) for s in await zones.shapes(session, network_id)}


async def approved_report(session: AsyncSession, network: NetworkRef, reference: str) -> Report:
    report = await alert_store.report(session, network.id, reference)
    if report is None:
        raise NotFound(f"no report {reference} in network {network.key}")
    if report.status != ReportStatus.APPROVED:
        raise SaveRelayError(
            f"report {report.reference} is {report.status}: only an approved report is an alert"
        )
    return report


async def latest(
    session: AsyncSession, network: NetworkRef, report: Report, radius_m: float | None = None
) -> Alert:
    """The report's current CAP message (with the Updates and Cancels issued so far)."""
    reference = report.reference or ""
    entries = (await alert_store.issued(session, [reference]))[reference]
    shapes = await zone_polygons(session, network.id)
    return build(network, report, shapes, issued=issued_of(entries), radius_m=radius_m)


async def issue(
    session: AsyncSession, network: NetworkRef, report: Report, msg_type: MsgType, actor: str, via: str
) -> None:
    """Record an Update or Cancel of ``report`` (audited: who, when, its identifier), in the caller's
    transaction; ``latest`` then builds it. A cancelled alert is not updated or cancelled again."""
    reference = report.reference or ""
    before = issued_of((await alert_store.issued(session, [reference]))[reference])
    if before and before[-1].msg_type == "Cancel":
        raise SaveRelayError(f"the alert of {reference} was cancelled already")
    now = utcnow().replace(microsecond=0)
    audit.record(
        session,
        action=alert_store.ISSUED,
        actor=actor,
        via=via,
        network_id=network.id,
        object_ref=reference,
        msg_type=msg_type,
        identifier=f"{identifier(network, reference)}:{msg_type.lower()}-{now:%Y%m%dT%H%M%S}",
        sent=now.isoformat(),
    )


def operator_text(network: NetworkRef, report: Report, alert: Alert) -> str:
    """The ≤160-character text for the zone's BE-Alert operator, beside the CAP file."""
    conf = network.settings
    return short_text(
        language=conf.language,
        network=conf.name,
        text=alert.description or report.subject,
        reference=report.reference or "",
        exercise=report.exercise,
        kind=alert.msg_type,
    )


def _restriction(label: str | None, members: str) -> str:
    """For whom a restricted alert is: its TLP label, then the network's members in its language."""
    return f"TLP:{label}: {members}" if label else members
