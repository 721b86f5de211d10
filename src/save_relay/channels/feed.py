"""An Atom feed (RFC 4287) of a network's CAP alerts: one entry per report, its latest CAP message
linked as ``application/cap+xml`` (the OASIS CAP feeds convention)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from save_relay.channels.cap import Alert, cap_time

ATOM = "http://www.w3.org/2005/Atom"


@dataclass(frozen=True, slots=True)
class Entry:
    alert: Alert
    url: str  # where its CAP document is served


def _add(parent: ET.Element, name: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{name}", attrs)
    if text is not None:
        element.text = text
    return element


def to_atom(*, feed_id: str, title: str, self_url: str, updated: datetime, entries: Sequence[Entry]) -> bytes:
    """The feed document, newest entry first as given."""
    ET.register_namespace("", ATOM)
    root = ET.Element(f"{{{ATOM}}}feed")
    _add(root, "id", feed_id)
    _add(root, "title", title)
    _add(root, "updated", cap_time(updated))
    _add(root, "link", rel="self", type="application/atom+xml", href=self_url)
    author = _add(root, "author")
    _add(author, "name", title)
    for item in entries:
        alert = item.alert
        entry = _add(root, "entry")
        _add(entry, "id", alert.identifier)
        _add(entry, "title", alert.headline)
        _add(entry, "updated", cap_time(alert.sent))
        _add(entry, "link", rel="alternate", type="application/cap+xml", href=item.url)
        _add(entry, "category", term=alert.scope, label=alert.restriction or alert.scope)
        _add(entry, "summary", f"{alert.status} {alert.msg_type}: {alert.event} ({alert.area.description})")
    ET.indent(root)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True)) + b"\n"
