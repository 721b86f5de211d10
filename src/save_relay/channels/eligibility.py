"""Which event may go to which webhook endpoint: one function, so that every rule is in one place.

TLP: a ``TLP:RED`` report (for named people only) never goes to a webhook, and neither does
``TLP:AMBER+STRICT`` (for the recipients' own organisations: a control room is another organisation's
machine, as an external group is, which AMBER+STRICT never reaches either). Events without a report
(canvasses) pass ``tlp=None``: the event filter and the zones decide.
"""

from __future__ import annotations

from collections.abc import Collection

from save_relay.core.states import ChannelEvent
from save_relay.core.webhook_settings import Endpoint

NEVER_TO_WEBHOOKS = frozenset({"RED", "AMBER+STRICT"})


def tlp_of(report: object) -> str | None:
    """A report's TLP label (``reports.tlp``) without its ``TLP:`` (``RED``, ``AMBER+STRICT``, ...
    ``CLEAR``): the one place that reads it for the channels."""
    label = getattr(report, "tlp", None)
    return str(label).strip().upper().removeprefix("TLP:") if label else None


def eligible(endpoint: Endpoint, event: ChannelEvent, zones: Collection[str], tlp: str | None = None) -> bool:
    """True if ``endpoint`` (the settings' or a managed one) may get ``event`` about something in
    ``zones`` labelled ``tlp``.

    An endpoint without zones gets events of every zone; one with zones only those that touch them
    (an event without zones, e.g. a canvass around a point outside every zone, then goes nowhere).
    """
    if tlp is not None and tlp.strip().upper().removeprefix("TLP:") in NEVER_TO_WEBHOOKS:
        return False
    if event not in endpoint.events:
        return False
    return not endpoint.zones or bool(set(endpoint.zones) & set(zones))
