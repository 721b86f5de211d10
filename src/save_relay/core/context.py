"""What the services share: the settings and the configured networks with their database ids."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from email.headerregistry import Address
from typing import Any

from save_relay.core.metrics import Metrics
from save_relay.core.routing import Purpose, subaddress
from save_relay.core.settings import NetworkSettings, Settings


@dataclass(frozen=True, slots=True)
class NetworkRef:
    """A configured network with its database id."""

    key: str
    id: int
    settings: NetworkSettings


@dataclass(slots=True)
class Context:
    settings: Settings
    networks: dict[str, NetworkRef]
    by_id: dict[int, NetworkRef] = field(init=False)
    #: DKIM key lookup for ``require_dkim`` (``mail.authcheck.DnsFunc``); None: DNS (tests set a dict's)
    dkim_dns: Callable[..., Any] | None = None
    #: the daemon's counters and histograms (its own registry: ``/metrics``)
    metrics: Metrics = field(default_factory=Metrics)

    def __post_init__(self) -> None:
        self.by_id = {ref.id: ref for ref in self.networks.values()}

    def network(self, network_id: int) -> NetworkRef:
        return self.by_id[network_id]

    def subaddress(self, network: NetworkSettings, purpose: Purpose, token: str | None = None) -> str:
        return subaddress(network, self.settings.subaddress_delimiter, purpose, token)


def network_from(network: NetworkSettings) -> str:
    """``"SaVE Lommel" <industrie@politie.lommel.be>``: the From of everything the network sends."""
    local, _, domain = network.address.partition("@")
    return str(Address(display_name=network.name, username=local, domain=domain))
