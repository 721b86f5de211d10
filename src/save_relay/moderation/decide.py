"""A moderator's decision about a report (by mail or CLI), applied once: approve (distribute) or reject."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import as_utc, utcnow
from save_relay.core.context import Context
from save_relay.core.errors import CommandRefused
from save_relay.core.states import ChannelEvent, ReportStatus
from save_relay.core.tlp import Label
from save_relay.mail.i18n import Reason, Refusal
from save_relay.mail.parse import parse_message
from save_relay.moderation.distribution import distribute
from save_relay.moderation.foureyes import close_waiting, gate
from save_relay.moderation.labels import Targets, targets
from save_relay.moderation.outcome import tell_everyone
from save_relay.processing.gate import Actor
from save_relay.store import audit, channel_events, recipients
from save_relay.store import tokens as token_store
from save_relay.store.aftercommit import after_commit
from save_relay.store.tables import InboundMessage, Report

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Decision:
    """What a moderator decided about one report."""

    action: str  # "approve" or "reject"
    zones: Sequence[str] | None = None
    groups: Sequence[str] | None = None
    edit_text: str | None = None
    credit: bool = False
    reason: str | None = None
    recipients: Sequence[str] | None = None  # named recipients: TLP:RED only
    urgent: bool = False  # also by SMS to the recipients' opted-in numbers
    sms_text: str | None = None  # the SMS's essence (None: a shortened preview)

    @property
    def plain(self) -> bool:
        """An approval that changes nothing (a plain ``ok``): it may confirm a four-eyes approval."""
        same = (self.zones, self.groups, self.edit_text, self.recipients) == (None,) * 4
        return same and not self.credit and not self.urgent


@dataclass(frozen=True, slots=True)
class Applied:
    """What a decision did; ``action`` ``awaiting``: a four-eyes approval waits for a second moderator."""

    reference: str
    action: str
    zones: tuple[str, ...]
    groups: tuple[str, ...]
    recipients: int = 0
    unknown: tuple[str, ...] = field(default_factory=tuple)
    tlp: str = "AMBER"
    named: tuple[str, ...] = ()
    sms: int = 0  # SMS queued (urgent)
    urgent: bool = False


def _resolve(requested: Sequence[str], known: dict[str, str]) -> tuple[list[str], list[str]]:
    """Map names or slugs (any case) to slugs; return (found, unknown)."""
    lookup = {slug.lower(): slug for slug in known} | {name.lower(): slug for slug, name in known.items()}
    found: list[str] = []
    unknown: list[str] = []
    for item in requested:
        slug = lookup.get(item.strip().lower())
        if slug is None:
            unknown.append(item)
        elif slug not in found:
            found.append(slug)
    return found, unknown


async def decide(
    session: AsyncSession, ctx: Context, report: Report, decision: Decision, actor: Actor
) -> Applied:
    """Apply a decision to a pending report; raises CommandRefused and changes nothing when it can't."""
    network = ctx.network(report.network_id)
    if report.status == ReportStatus.WITHDRAWN:
        zone = ZoneInfo(network.settings.timezone)
        at = as_utc(report.decided_at or utcnow()).astimezone(zone).strftime("%Y-%m-%d %H:%M")
        raise CommandRefused(
            f"report {report.reference} was withdrawn by the reporter at {at}",
            Refusal.of(Reason.WITHDRAWN, reference=report.reference or "", at=at),
        )
    if report.status != ReportStatus.PENDING:
        at = report.decided_at.isoformat(timespec="minutes") if report.decided_at else "?"
        raise CommandRefused(
            f"report {report.reference} is already {report.status}",
            Refusal.of(
                Reason.ALREADY_DECIDED, reference=report.reference or "", by=report.decided_by or "?", at=at
            ),
        )
    zones, groups = list(report.zones), list(report.groups)
    extra: list[str] = []
    if decision.zones is not None:
        zones, unknown = _resolve(decision.zones, await recipients.zone_slugs(session, network.id))
        if unknown:
            names = ", ".join(unknown)
            raise CommandRefused(f"unknown zone(s): {names}", Refusal.of(Reason.UNKNOWN_ZONES, names=names))
    if decision.groups is not None:
        extra, unknown = _resolve(decision.groups, await recipients.group_slugs(session, network.id))
        if unknown:
            names = ", ".join(unknown)
            raise CommandRefused(f"unknown group(s): {names}", Refusal.of(Reason.UNKNOWN_GROUPS, names=names))
        groups = list(dict.fromkeys([*network.settings.default_groups, *extra]))
    label = Label(report.tlp)
    chosen = Targets(tuple(zones), tuple(groups))
    first: dict[str, object] | None = None
    if decision.action == "approve":
        chosen = targets(
            network.settings,
            label,
            zones,
            groups,
            named=decision.recipients,
            asked_groups=extra,
            asked_zones=decision.zones is not None,
        )
        if not chosen.zones and not chosen.groups and not chosen.named:
            raise CommandRefused(
                "no zones or groups to send to: add 'zones: ...'", Refusal.of(Reason.NO_TARGETS)
            )
        plan = _plan(chosen, decision, label)
        count = len(chosen.named) or await recipients.recipient_count(
            session, network.id, chosen.zones, chosen.groups
        )
        four_eyes = await gate(session, ctx, report, actor, plan=plan, plain=decision.plain, recipients=count)
        if four_eyes.waiting:
            return Applied(
                report.reference or "",
                "awaiting",
                chosen.zones,
                chosen.groups,
                count,
                tlp=label.value,
                named=chosen.named,
            )
        chosen, decision, first = _from_plan(four_eyes.plan), _decision(four_eyes.plan), four_eyes.first
    else:
        await close_waiting(session, report, actor)
    report.decided_at, report.decided_by = utcnow(), actor.name
    await token_store.use_all_for_report(session, report.id, "confirm")
    applied = Applied(
        report.reference or "",
        decision.action,
        chosen.zones,
        chosen.groups,
        tlp=label.value,
        named=chosen.named,
    )
    inbound = await session.get(InboundMessage, report.inbound_id)
    assert inbound is not None
    parsed = parse_message(inbound.raw)
    if decision.action == "reject":
        report.status, report.reason = ReportStatus.REJECTED, decision.reason
    else:
        report.status, report.zones, report.groups = (
            ReportStatus.APPROVED,
            list(chosen.zones),
            list(chosen.groups),
        )
        report.credit = decision.credit
        report.edited_text = decision.edit_text
        fanout = await distribute(
            session,
            network,
            report,
            parsed,
            inbound.raw,
            named=chosen.named,
            urgent=decision.urgent,
            sms_text=decision.sms_text,
        )
        applied = Applied(
            applied.reference,
            "approve",
            applied.zones,
            applied.groups,
            fanout.recipients,
            tlp=label.value,
            named=chosen.named,
            sms=fanout.sms,
            urgent=decision.urgent,
        )
    approved = report.status == ReportStatus.APPROVED
    event = ChannelEvent.REPORT_APPROVED if approved else ChannelEvent.REPORT_REJECTED
    channel_events.emit(session, network_id=network.id, event=event, report_id=report.id)  # webhooks
    moderators_told, reporter_told = tell_everyone(
        session, network, report, parsed, actor, action=applied.action, recipients=applied.recipients
    )
    audit.record(
        session,
        action=f"report_{report.status}",
        actor=actor.name,
        via=actor.via,
        network_id=network.id,
        object_ref=report.reference,
        message_id=actor.message_id,
        zones=list(applied.zones),
        groups=list(applied.groups),
        recipients=applied.recipients,
        edited=decision.edit_text is not None,
        credit=decision.credit,
        reason=decision.reason,
        moderators_told=moderators_told,
        reporter_told=reporter_told,
        tlp=label.value,
        named=list(chosen.named),
        groups_left_out=list(chosen.left_out),
        first_approval=first,
        urgent=decision.urgent,
        sms=applied.sms,
    )
    _count(session, ctx, report)
    log.info(
        "%s %s by %s",
        report.reference,
        report.status,
        actor.name,
        extra={
            "action": f"report_{report.status}",
            "reference": report.reference,
            "actor": actor.name,
            "recipients": applied.recipients,
        },
    )
    return applied


def _plan(chosen: Targets, decision: Decision, label: Label) -> dict[str, object]:
    """An approval as data, kept while it waits for a second moderator (``approval_requests``)."""
    return {
        "zones": list(chosen.zones),
        "groups": list(chosen.groups),
        "named": list(chosen.named),
        "left_out": list(chosen.left_out),
        "edit_text": decision.edit_text,
        "credit": decision.credit,
        "tlp": label.value,
        "urgent": decision.urgent,
        "sms_text": decision.sms_text,
    }


def _from_plan(plan: dict[str, object]) -> Targets:
    def items(key: str) -> tuple[str, ...]:
        value = plan.get(key)
        return tuple(str(v) for v in value) if isinstance(value, list) else ()

    return Targets(items("zones"), items("groups"), items("named"), items("left_out"))


def _decision(plan: dict[str, object]) -> Decision:
    edit, sms = plan.get("edit_text"), plan.get("sms_text")
    return Decision(
        "approve",
        edit_text=edit if isinstance(edit, str) else None,
        credit=bool(plan.get("credit")),
        urgent=bool(plan.get("urgent")),
        sms_text=sms if isinstance(sms, str) else None,
    )


def _count(session: AsyncSession, ctx: Context, report: Report) -> None:
    """The decision in the metrics, once it is committed (the approval latency: received to decided)."""
    metrics, outcome = ctx.metrics, str(report.status)
    latency = (as_utc(report.decided_at or utcnow()) - as_utc(report.received_at)).total_seconds()

    def count() -> None:
        metrics.reports_decided.labels(outcome=outcome).inc()
        if outcome == ReportStatus.APPROVED:
            metrics.approval_latency.observe(max(latency, 0.0))

    after_commit(session, count)


def confirmation_context(applied: Applied, decision: Decision) -> dict[str, object]:
    """The ``confirmation`` mail's context for a decision (``incident``: the fields set with it)."""
    return {
        "reference": applied.reference,
        "action": applied.action,
        "zones": applied.zones,
        "groups": applied.groups,
        "recipients": applied.recipients,
        "edited": decision.edit_text is not None,
        "credit": decision.credit,
        "reason": decision.reason,
        "incident": {},
        "tlp": applied.tlp,
        "named": applied.named,
        "sms": applied.sms,
        "urgent": applied.urgent,
    }


def update_context(reference: str, incident: dict[str, object]) -> dict[str, object]:
    """The ``confirmation`` mail's context for incident fields set without a decision."""
    return {
        "reference": reference,
        "action": "update",
        "zones": (),
        "groups": (),
        "recipients": 0,
        "edited": False,
        "credit": False,
        "reason": None,
        "incident": incident,
    }
