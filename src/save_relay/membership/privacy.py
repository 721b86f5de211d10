"""Personal data on request: everything held about one address (export), and its erasure.

An erasure deletes what exists only because of the person (their subscriber addresses, a company left
without any address, requests, membership and bounce events, tokens, queued mail), empties the mail
they sent (the sha256 stays, so the audit trail still shows what was received and when), and then
replaces every remaining mention of the address, in any table, with a random pseudonym
(``erased-XXXXXXXXXXXX@erased.invalid``) that is stored nowhere else: the audit log keeps its entries,
its order and its links between them, but no longer names the person. Reports on an evidence hold
are the exception: they are kept whole (and say so in the result) until the hold is released, with
what proves what happened to them: the moderators' replies about them, their follow-ups and their
distributions. Anyone else's follow-ups lose their mail and text like the other mail the person sent
or is named in.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import as_utc, utcnow
from save_relay.core.erased import pseudonym
from save_relay.core.errors import SaveRelayError
from save_relay.core.settings import Settings
from save_relay.mail.attachments import extract
from save_relay.mail.parse import parse_message
from save_relay.membership.suppress import key_of, suppress
from save_relay.store import audit, phones
from save_relay.store import holds as hold_store
from save_relay.store import privacy as store
from save_relay.store import subscribers as subscriber_store
from save_relay.store.tables import (
    BounceEvent,
    MembershipEvent,
    SubscriberAddress,
    SubscriptionRequest,
    Token,
)


class ErasureRefused(SaveRelayError):
    """The address cannot be erased."""


@dataclass(slots=True)
class Erasure:
    pseudonym: str
    deleted: dict[str, int] = field(default_factory=dict)
    pseudonymised: dict[str, int] = field(default_factory=dict)
    held: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"deleted {n} {what}" for what, n in self.deleted.items() if n]
        out += [f"pseudonymised {n} row(s) of {where}" for where, n in self.pseudonymised.items()]
        out += [f"kept under evidence hold: {reference}" for reference in self.held]
        return out


def _when(value: datetime | None) -> str | None:
    return as_utc(value).isoformat(timespec="seconds") if value else None


def _plain(row: Any, *names: str) -> dict[str, Any]:
    return {name: _when(v) if isinstance(v := getattr(row, name), datetime) else v for name in names}


async def _subscribers(session: AsyncSession, settings: Settings, address: str) -> list[dict[str, Any]]:
    rows = await store.subscriber_addresses(session, address)
    out = []
    for subscriber in await store.subscribers(session, {row.subscriber_id for row in rows}):
        member_of = await subscriber_store.memberships(session, subscriber.network_id)
        manual, computed, groups = member_of.get(subscriber.id, ([], [], []))
        addresses = await subscriber_store.address_rows(session, subscriber.network_id)
        numbers = await phones.sms_numbers(session, subscriber.network_id)
        out.append(
            {
                **_plain(
                    subscriber,
                    "company",
                    "contact",
                    "street",
                    "latitude",
                    "longitude",
                    "enabled",
                    "created_at",
                ),
                "addresses": [
                    {"address": a.address, "status": a.status, "bounce_score": round(a.bounce_score, 3)}
                    for a in addresses
                    if a.subscriber_id == subscriber.id
                ],
                "zones": {"manual": manual, "computed": computed},
                "groups": groups,
                "sms_numbers": numbers.get(subscriber.id, []),  # go with the company (erase: see above)
            }
        )
    return out


async def export(session: AsyncSession, settings: Settings, address: str) -> dict[str, Any]:
    """Everything held about ``address``, as plain JSON-able values."""
    reports = []
    for report, inbound, held in await store.reports_by(session, address):
        parsed = parse_message(inbound.raw) if inbound.raw else None
        reports.append(
            {
                **_plain(
                    report, "reference", "status", "received_at", "subject", "sender_name", "decided_at"
                ),
                "evidence_hold": held,
                "text": parsed.text if parsed else None,
                "raw_purged": inbound.purged_at is not None,
            }
        )
    return {
        "address": address.lower(),
        "exported_at": _when(utcnow()),
        "subscribers": await _subscribers(session, settings, address),
        "subscription_requests": [
            _plain(r, "kind", "status", "company", "contact", "street", "latitude", "longitude", "created_at")
            for r in await store.records(session, SubscriptionRequest, address)
        ],
        "membership_events": [
            _plain(e, "event", "via", "at") for e in await store.records(session, MembershipEvent, address)
        ],
        "bounces": [
            _plain(b, "kind", "added", "score", "diagnostic", "at")
            for b in await store.records(session, BounceEvent, address)
        ],
        "reports": reports,
        "deliveries": [
            {**_plain(d, "kind", "status", "created_at", "sent_at"), "reference": reference}
            for d, reference in await store.deliveries_to(session, address)
        ],
        "open_tokens": sum(1 for t in await store.records(session, Token, address) if t.used_at is None),
        "canvass_answers": [
            {
                **_plain(answer, "canvass_id", "received_at", "text", "late"),
                "attachments": [
                    {**item.describe(), "base64": base64.b64encode(item.data).decode("ascii")}
                    for item in extract(raw or b"")
                ],
            }
            for answer, raw in await store.answers_by(session, address)
        ],
        "audit": [
            _plain(e, "at", "action", "actor", "via", "object_ref")
            for e in await store.audit_about(session, address)
        ],
        "mentions": await store.count_mentions(session, address),
    }


def _is_moderator(settings: Settings, address: str) -> bool:
    return any(address.lower() in network.moderators for network in settings.networks.values())


def erasable(settings: Settings, address: str) -> str:
    """``address`` as erased (lower-cased); ErasureRefused if it cannot be."""
    address = address.strip().lower()
    if "@" not in address:
        raise ErasureRefused(f"not an address: {address!r}")
    if _is_moderator(settings, address):
        raise ErasureRefused(f"{address} is a moderator in the settings: remove it there first")
    return address


async def erase(
    session: AsyncSession,
    settings: Settings,
    address: str,
    *,
    actor: str,
    first_approval: dict[str, Any] | None = None,
) -> Erasure:
    """Erase ``address`` everywhere, in the caller's transaction (see the module docstring).
    ``first_approval``: four-eyes, who asked first (``erasure_approval``), kept in the audit entry."""
    address = erasable(settings, address)
    now = utcnow()
    result = Erasure(pseudonym=pseudonym())
    deleted = result.deleted
    held = await hold_store.held_evidence(session)  # before the tokens that link replies go
    rows = await store.subscriber_addresses(session, address)
    subscriber_ids = {row.subscriber_id for row in rows}
    deleted["subscriber addresses"] = await store.delete_rows(session, SubscriberAddress, address)
    deleted["subscribers left without an address"] = await store.delete_empty_subscribers(
        session, subscriber_ids
    )
    for model, label in (
        (SubscriptionRequest, "subscription requests"),
        (MembershipEvent, "membership events"),
        (BounceEvent, "bounce events"),
        (Token, "tokens"),
    ):
        deleted[label] = await store.delete_rows(session, model, address)
    keep_reports, keep_inbound, credited = list(held.report_ids), list(held.inbound_ids), []
    for report, inbound, is_held in await store.reports_by(session, address):
        if is_held:
            result.held.append(report.reference or str(report.id))
            continue
        report.sender, report.sender_name = result.pseudonym, ""
        inbound.raw, inbound.purged_at = b"", now
        if report.credit:  # the distribution named the reporter
            credited.append(report.id)
    await store.forget_distributions(session, credited)
    await store.forget_inbound(session, address, result.pseudonym, keep_inbound, now)
    mails = await store.mails_mentioning(session, address)
    mails["inbound_messages"] = [i for i in mails.get("inbound_messages", []) if i not in keep_inbound]
    mails["distributions"] = [i for i in mails.get("distributions", []) if i not in held.distribution_ids]
    mails["followups"] = [i for i in mails.get("followups", []) if i not in held.followup_ids]
    await store.empty_mails(session, mails, now)
    deleted["stored mails that mention the address (emptied)"] = sum(map(len, mails.values()))
    await store.forget_deliveries(session, address, result.pseudonym)
    result.pseudonymised = await store.replace_mentions(
        session,
        address,
        result.pseudonym,
        keep={
            "reports": keep_reports,
            "inbound_messages": keep_inbound,
            "distributions": list(held.distribution_ids),
            "followups": list(held.followup_ids),
        },
    )
    await audit.redact(session, result.pseudonym, actor=actor)
    extra: dict[str, Any] = {"first_approval": first_approval} if first_approval else {}  # four-eyes
    await suppress(session, key_of(settings), address, actor=actor)
    audit.record(
        session,
        action="personal_data_erased",
        actor=actor,
        via="cli",
        object_ref=result.pseudonym[:64],
        deleted=deleted,
        pseudonymised=result.pseudonymised,
        held=result.held,
        **extra,
    )
    return result
