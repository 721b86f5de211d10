"""Every status and token purpose stored in the database, as enums (their values are the stored strings).

``StrEnum`` members compare equal to their strings, so rows read back as ``str`` still match them; the
columns keep ``String`` types (no database enum types: adding a state needs no migration).
"""

from __future__ import annotations

import enum


class InboundStatus(enum.StrEnum):
    """A stored message: waiting for the processor, processed, or set aside with its error."""

    NEW = "new"
    DONE = "done"
    SHUNTED = "shunted"


class ReportStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    SHUNTED = "shunted"
    DISCARDED = "discarded"
    WITHDRAWN = "withdrawn"  # by the reporter, while pending (moderation/withdraw.py): never distributed


class DeliveryStatus(enum.StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"


class DeliveryLane(enum.IntEnum):
    """Which outbound mail goes first (``deliveries.lane``; lower first, then by due time).

    URGENT: what follows a moderator's command or a known subscriber's report (notifications, the
    distribution, confirmations); NORMAL: everything else, a flood's notifications among them.
    """

    URGENT = 0
    NORMAL = 1


class AddressStatus(enum.StrEnum):
    """A subscriber's address: mailed, left by its own wish, or disabled by bounces."""

    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"
    DISABLED = "disabled"


class RequestStatus(enum.StrEnum):
    """A subscription request (see ``store.tables.SubscriptionRequest``)."""

    UNCONFIRMED = "unconfirmed"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    DONE = "done"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class CanvassStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    OPEN = "open"
    REMINDED = "reminded"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class TokenPurpose(enum.StrEnum):
    """What a ``+confirm-TOKEN`` reply answers: a report's moderator, a requester's own opt-in
    (subscribe, leave), a moderator approving a request, a canvass owner cancelling, a second moderator
    confirming a large canvass, a reporter agreeing to
    a lower TLP label; and the reporter's ``+followup-TOKEN`` of an acknowledgement (a follow-up, or
    ``intrekken``)."""

    CONFIRM = "confirm"
    SUBSCRIBE = "subscribe"
    LEAVE = "leave"
    SUBSCRIPTION = "subscription"
    CANVASS_CANCEL = "canvass-cancel"
    FOLLOWUP = "followup"
    TLP_CONSENT = "tlp-consent"  # the reporter agrees to a lower TLP label (moderation/labels.py)
    CANVASS_APPROVE = "canvass-approve"  # a second moderator confirms a large canvass (canvass/foureyes.py)


class AccountRole(enum.StrEnum):
    """A console account's role in its network: moderators decide on reports, coordinators run
    canvasses, subscribers and zones (no approval), admins also manage accounts and settings."""

    MODERATOR = "moderator"
    COORDINATOR = "coordinator"
    ADMIN = "admin"


class ChannelEvent(enum.StrEnum):
    """What a webhook tells (Standard Webhooks' ``type``; ``channel_events.type``)."""

    REPORT_APPROVED = "report.approved"
    REPORT_REJECTED = "report.rejected"
    REPORT_FOLLOWUP = "report.followup"
    CANVASS_SENT = "canvass.sent"
    CANVASS_ANSWER = "canvass.answer"
    CANVASS_CLOSED = "canvass.closed"


#: The monthly test's webhook event (``moderation/monthly_test.py``): not one of the ``ChannelEvent``
#: an endpoint chooses, it goes to every enabled endpoint, to show that the connection works.
TEST_EVENT = "network.test"


class ApprovalStatus(enum.StrEnum):
    """A four-eyes approval (``approval_requests``): waiting for its second moderator, or closed."""

    WAITING = "waiting"
    CONFIRMED = "confirmed"
    LAPSED = "lapsed"
    SUPERSEDED = "superseded"
