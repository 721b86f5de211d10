"""Every table of save-relay, in one place: ``Base.metadata`` knows them all once this is imported.

Only ``store/`` builds queries on them; the rest of the code reads rows as objects.
"""

from __future__ import annotations

from save_relay.store.tables.accounts import Account, ConsoleSession
from save_relay.store.tables.approvals import ApprovalRequest
from save_relay.store.tables.canvass import Canvass, CanvassAnswer, CanvassRecipient, CanvassToken
from save_relay.store.tables.channels import ChannelEventRow, SmsPart, SubscriberPhone, WebhookEndpointRow
from save_relay.store.tables.counters import ReferenceCounter
from save_relay.store.tables.followups import Followup
from save_relay.store.tables.imap import ImapMailbox
from save_relay.store.tables.membership import (
    BounceEvent,
    EvidenceHold,
    MembershipEvent,
    SubscriptionRequest,
    Suppression,
    UnmatchedBounce,
)
from save_relay.store.tables.nodes import Node
from save_relay.store.tables.relay import (
    AuditChainHead,
    AuditEntry,
    Base,
    Delivery,
    Distribution,
    Group,
    GroupMembership,
    Id,
    InboundMessage,
    Moderator,
    Network,
    Report,
    ReportAttachment,
    Subscriber,
    SubscriberAddress,
    Token,
    Zone,
    ZoneMembership,
)
from save_relay.store.tables.scheduler import JobSlot
from save_relay.store.tables.stats import StatsPeriod

__all__ = [
    "Account",
    "ApprovalRequest",
    "AuditChainHead",
    "AuditEntry",
    "Base",
    "BounceEvent",
    "Canvass",
    "CanvassAnswer",
    "CanvassRecipient",
    "CanvassToken",
    "ChannelEventRow",
    "ConsoleSession",
    "Delivery",
    "Distribution",
    "EvidenceHold",
    "Followup",
    "Group",
    "GroupMembership",
    "Id",
    "ImapMailbox",
    "InboundMessage",
    "JobSlot",
    "MembershipEvent",
    "Moderator",
    "Network",
    "Node",
    "ReferenceCounter",
    "Report",
    "ReportAttachment",
    "SmsPart",
    "StatsPeriod",
    "Subscriber",
    "SubscriberAddress",
    "SubscriberPhone",
    "SubscriptionRequest",
    "Suppression",
    "Token",
    "UnmatchedBounce",
    "WebhookEndpointRow",
    "Zone",
    "ZoneMembership",
]
