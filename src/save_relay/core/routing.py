"""Which network and purpose a recipient address stands for: the policy behind RCPT TO.

``industrie@d`` posts a report; ``industrie+confirm-TOKEN@d`` is a moderator's reply;
``industrie+bounces-TOKEN@d`` a bounce; ``industrie+unsubscribe-TOKEN@d`` a List-Unsubscribe mailto;
``industrie+request@d`` (no token) takes subscribe, unsubscribe and help;
``industrie+canvass@d`` (no token, moderators only) creates a canvass, ``industrie+reply-TOKEN@d`` is a
subscriber's answer to one; ``industrie+followup-TOKEN@d`` is a follow-up of a report (a reply to a
distribution copy or to the reporter's acknowledgement).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from save_relay.core.addresses import normalize_address, split_subaddress
from save_relay.core.settings import NetworkSettings, Settings
from save_relay.core.tokens import looks_like_token


class Purpose(enum.StrEnum):
    POST = "post"
    CONFIRM = "confirm"
    BOUNCES = "bounces"
    UNSUBSCRIBE = "unsubscribe"
    REQUEST = "request"
    CANVASS = "canvass"
    REPLY = "reply"
    FOLLOWUP = "followup"


TOKEN_PURPOSES = frozenset(
    {Purpose.CONFIRM, Purpose.BOUNCES, Purpose.UNSUBSCRIBE, Purpose.REPLY, Purpose.FOLLOWUP}
)


@dataclass(frozen=True, slots=True)
class Route:
    """A recipient resolved to one of our networks."""

    network_key: str
    network: NetworkSettings
    purpose: Purpose
    token: str | None
    address: str


class Refusal(enum.Enum):
    """Why a recipient is refused, as an SMTP reply."""

    INVALID = "553 5.1.3 Recipient address syntax is not valid"
    RELAY = "550 5.7.1 Relaying denied: this server only accepts mail for its own networks"
    UNKNOWN = "550 5.1.1 No such recipient here"


def resolve(settings: Settings, recipient: str) -> Route | Refusal:
    """Map ``recipient`` to a Route, or say why it is refused."""
    normalized = normalize_address(recipient)
    if normalized is None:
        return Refusal.INVALID
    base, tag, domain = split_subaddress(normalized, settings.subaddress_delimiter)
    address = f"{base.lower()}@{domain}"
    found = settings.network_for(address)
    if found is None:
        known_domains = {network.domain for network in settings.networks.values()}
        return Refusal.UNKNOWN if domain in known_domains else Refusal.RELAY
    key, network = found
    if tag is None:
        return Route(key, network, Purpose.POST, None, address)
    name, _, token = tag.partition("-")
    try:
        purpose = Purpose(name.lower())
    except ValueError:
        return Refusal.UNKNOWN
    if purpose in TOKEN_PURPOSES:
        if not looks_like_token(token):
            return Refusal.UNKNOWN
        return Route(key, network, purpose, token.lower(), address)
    return Refusal.UNKNOWN if token else Route(key, network, purpose, None, address)


def subaddress(network: NetworkSettings, delimiter: str, purpose: Purpose, token: str | None = None) -> str:
    """``industrie+confirm-TOKEN@domain`` for ``network``."""
    tag = f"{purpose.value}-{token}" if token else purpose.value
    return f"{network.local_part}{delimiter}{tag}@{network.domain}"
