"""A CAP 1.2 alert (OASIS Common Alerting Protocol) as a value, and as XML valid against the OASIS XSD.

The XML is written in the schema's element order; times as CAP wants them (``2026-12-05T21:30:00+01:00``:
an offset, never ``Z``). What the values mean for save-relay is decided in ``alerts``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"
Status = Literal["Actual", "Exercise"]
MsgType = Literal["Alert", "Update", "Cancel"]
Scope = Literal["Public", "Restricted"]


def cap_time(value: datetime) -> str:
    """``YYYY-MM-DDThh:mm:ss+hh:mm`` (CAP's pattern: seconds, an explicit offset)."""
    if value.tzinfo is None:
        raise ValueError("a CAP time needs its offset")
    return value.replace(microsecond=0).isoformat()


@dataclass(frozen=True, slots=True)
class Area:
    description: str
    polygons: tuple[str, ...] = ()
    circles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Alert:
    """One CAP message; ``references``: ``"sender,identifier,sent"`` of the messages it updates or cancels."""

    identifier: str
    sender: str
    sent: datetime
    status: Status
    msg_type: MsgType
    scope: Scope
    language: str
    event: str
    sender_name: str
    headline: str
    description: str
    instruction: str
    area: Area
    restriction: str | None = None
    references: tuple[str, ...] = ()
    note: str | None = None
    web: str | None = None
    category: str = "Security"
    response: str = "Monitor"
    urgency: str = "Expected"
    severity: str = "Minor"
    certainty: str = "Observed"
    parameters: dict[str, str] = field(default_factory=dict)

    @property
    def reference(self) -> str:
        """How a later message names this one in ``references``."""
        return f"{self.sender},{self.identifier},{cap_time(self.sent)}"


def _add(parent: ET.Element, name: str, text: str | None) -> None:
    if text is not None:
        ET.SubElement(parent, f"{{{NAMESPACE}}}{name}").text = text


def _info(root: ET.Element, alert: Alert) -> None:
    info = ET.SubElement(root, f"{{{NAMESPACE}}}info")
    for name, text in (
        ("language", alert.language),
        ("category", alert.category),
        ("event", alert.event),
        ("responseType", alert.response),
        ("urgency", alert.urgency),
        ("severity", alert.severity),
        ("certainty", alert.certainty),
        ("senderName", alert.sender_name),
        ("headline", alert.headline),
        ("description", alert.description),
        ("instruction", alert.instruction),
        ("web", alert.web),
    ):
        _add(info, name, text)
    for key, value in alert.parameters.items():
        parameter = ET.SubElement(info, f"{{{NAMESPACE}}}parameter")
        _add(parameter, "valueName", key)
        _add(parameter, "value", value)
    area = ET.SubElement(info, f"{{{NAMESPACE}}}area")
    _add(area, "areaDesc", alert.area.description)
    for polygon in alert.area.polygons:
        _add(area, "polygon", polygon)
    for circle in alert.area.circles:
        _add(area, "circle", circle)


def to_xml(alert: Alert) -> bytes:
    """The alert as a CAP 1.2 document (UTF-8, with the XML declaration)."""
    ET.register_namespace("", NAMESPACE)
    root = ET.Element(f"{{{NAMESPACE}}}alert")
    for name, text in (
        ("identifier", alert.identifier),
        ("sender", alert.sender),
        ("sent", cap_time(alert.sent)),
        ("status", alert.status),
        ("msgType", alert.msg_type),
        ("scope", alert.scope),
        ("restriction", alert.restriction if alert.scope == "Restricted" else None),
        ("note", alert.note),
        ("references", " ".join(alert.references) or None),
    ):
        _add(root, name, text)
    _info(root, alert)
    ET.indent(root)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True)) + b"\n"
