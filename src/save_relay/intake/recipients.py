"""The recipients of one SMTP/LMTP transaction, with repeats merged.

A client may name the same address several times (``RCPT TO`` twenty times, or in another case of its
domain): that is one message to one address, so one stored copy and one report. Postfix merges repeated
recipients the same way. Two recipients are the same when they resolve to the same network, purpose and
token (``resolve`` lower-cases the domain, the base local part and the token). LMTP still answers once per
accepted ``RCPT`` (RFC 2033 4.2), so each accepted ``RCPT`` keeps the index of the copy it maps to.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from save_relay.core.routing import Purpose, Route


def route_key(route: Route) -> tuple[str, Purpose, str | None]:
    """What makes two recipients the same copy."""
    return (route.network_key, route.purpose, route.token)


@dataclass(slots=True)
class Recipients:
    """The distinct routes of a transaction, and for each accepted ``RCPT`` the route it names."""

    routes: list[Route] = field(default_factory=list)
    slots: list[int] = field(default_factory=list)

    def find(self, route: Route) -> int | None:
        """The index of a route already named that is the same copy as ``route``, if any."""
        key = route_key(route)
        return next((i for i, known in enumerate(self.routes) if route_key(known) == key), None)

    def add(self, route: Route) -> None:
        """Record an accepted ``RCPT``: a new copy, or one more name for a copy already there."""
        index = self.find(route)
        if index is None:
            self.routes.append(route)
            index = len(self.routes) - 1
        self.slots.append(index)
