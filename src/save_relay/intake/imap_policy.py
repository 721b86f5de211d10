"""The IMAP intake's decisions, as pure functions: which route a mailbox message takes, who sent it,
where it goes afterwards, and how long to wait before reconnecting.
"""

from __future__ import annotations

import email.parser
import email.policy
import enum
from email.message import Message
from email.utils import getaddresses, parseaddr

from save_relay.core.routing import Purpose, Route, resolve
from save_relay.core.settings import Settings

# Headers that may name the address a message was delivered to, most trustworthy first: the final
# delivery agent's Delivered-To (Postfix, Dovecot), Postfix's X-Original-To, then the visible ones.
ROUTE_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "To", "Cc")


class Disposition(enum.Enum):
    """What happens to a message on the server once the database has it (or has refused it)."""

    PROCESSED = "processed"  # moved to move_to, or flagged \Seen + flag_keyword
    REJECTED = "rejected"  # over the size limit: moved to reject_to, or flagged reject_keyword


def disposition(size: int, max_size: int) -> Disposition:
    """The same answer before and after a crash, so a restart files a message where it belongs."""
    return Disposition.REJECTED if size > max_size else Disposition.PROCESSED


def headers_of(raw: bytes) -> Message:
    """Only the header block (fast, never raises on a malformed body)."""
    return email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)


def route_for(settings: Settings, network_key: str, headers: Message) -> Route:
    """The route of a message found in ``network_key``'s mailbox.

    A sub-address of this network in the delivery headers (``industrie+confirm-TOKEN@...`` in
    Delivered-To, X-Original-To, To or Cc) makes it a reply, bounce or unsubscribe as over SMTP;
    anything else is a post to the network's plain address.
    """
    network = settings.networks[network_key]
    for name in ROUTE_HEADERS:
        values = [str(value) for value in headers.get_all(name) or []]
        for _, address in getaddresses(values):
            if not address:
                continue
            route = resolve(settings, address)
            if (
                isinstance(route, Route)
                and route.network_key == network_key
                and route.purpose is not Purpose.POST
            ):
                return route
    return Route(network_key, network, Purpose.POST, None, network.address)


def envelope_sender(headers: Message) -> str:
    """The envelope sender as the delivering server recorded it (Return-Path), else the From address.

    ``Return-Path: <>`` (a bounce) gives "".
    """
    return_path = headers.get("Return-Path")
    if return_path is not None:
        value = str(return_path).strip()
        if value in {"<>", ""}:
            return ""
        return parseaddr(value)[1]
    return parseaddr(str(headers.get("From", "")))[1]


BUSY_CODES = ("[LIMIT]", "[UNAVAILABLE]")  # RFC 5530: too many sessions, or the server is unwell


def server_busy(reason: str) -> bool:
    """The server refused us for being too many or too early (``[LIMIT]``, ``[UNAVAILABLE]``):
    another quick retry only makes it worse, so the reconnect waits as long as after a refused login."""
    return any(code in reason.upper() for code in BUSY_CODES)


def retry_delay(
    failures: int,
    *,
    base: float,
    cap: float,
    rand: float,
    auth_failed: bool = False,
    auth_floor: float = 0.0,
) -> float:
    """Seconds to wait before reconnect attempt number ``failures + 1`` (``failures`` >= 1).

    Exponential (``base * 2**(failures-1)``, capped at ``cap``) with "equal jitter": half of it fixed,
    half scaled by ``rand`` in [0, 1). A refused login waits at least ``auth_floor`` (also jittered), so
    a wrong password does not lock the account through a burst of retries.
    """
    exponent = min(max(failures, 1) - 1, 32)
    delay = min(cap, base * 2.0**exponent)
    if auth_failed:
        delay = max(delay, auth_floor)
    return delay / 2 + delay / 2 * rand
