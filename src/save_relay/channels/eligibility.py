"""Which event may go to which webhook endpoint: one function, so that every rule is in one place.

TLP (issue 21, labels by the evidence issue): a ``TLP:RED`` report never goes to a webhook. Until
reports carry a label (``reports.tlp``), the dispatcher passes ``tlp=None`` and only the event filter
and the zones decide; once it exists, pass the report's label here and extend this function (for
example ``AMBER+STRICT``: only to the network's own organisation).
"""

from __future__ import annotations

from collections.abc import Collection

from save_relay.core.states import ChannelEvent
from save_relay.core.webhook_settings import WebhookSettings

NEVER_TO_WEBHOOKS = frozenset({"RED"})


def tlp_of(report: object) -> str | None:
    """A report's TLP label without its ``TLP:`` (``RED``, ``AMBER+STRICT``, ... ``CLEAR``); None while
    reports have none. Labels come with the evidence issue (``reports.tlp``): the one place that reads them.
    """
    label = getattr(report, "tlp", None)
    return str(label).strip().upper().removeprefix("TLP:") if label else None


def eligible(
    endpoint: WebhookSettings, event: ChannelEvent, zones: Collection[str], tlp: str | None = None
) -> bool:
    """True if ``endpoint`` may get ``event`` about something in ``zones`` labelled ``tlp``.

    An endpoint without zones gets events of every zone; one with zones only those that touch them
    (an event without zones, e.g. a canvass around a point outside every zone, then goes nowhere).
    """
    if tlp is not None and tlp.strip().upper().removeprefix("TLP:") in NEVER_TO_WEBHOOKS:
        return False
    if event not in endpoint.events:
        return False
    return not endpoint.zones or bool(set(endpoint.zones) & set(zones))
