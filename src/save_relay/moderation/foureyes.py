"""Four-eyes approval: what a network marks sensitive goes out only after two different moderators.

Sensitive (``networks.<key>.four_eyes``): a distribution to more than ``recipients_above`` addresses, a
TLP:RED one (``tlp_red``). The first approval is kept as an ``approval_requests`` row with what it
decided (``plan``); the report stays pending, the other moderators get a mail with a reply address of
their own (a ``confirm`` token of the report: ``ok`` confirms, ``afwijzen`` rejects), and the first
moderator's own reply addresses stay open but refuse them a second time. A second moderator's plain
``ok`` (or ``queue approve REF --as ADDRESS``) applies the first one's plan; a reply that changes
something (zones, groups, text, label) is a new first approval, which waits in turn. A waiting approval
lapses after ``four_eyes.hours`` (``lapse_due``, a scheduled job): the moderators are told and the report
waits for a decision again. Both approvals are audit entries (``report_approval_waiting``, then
``report_approved`` with ``first_approval``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import as_utc, utcnow
from save_relay.core.context import Context, NetworkRef
from save_relay.core.errors import CommandRefused
from save_relay.core.settings import NetworkSettings
from save_relay.core.states import ApprovalStatus, ReportStatus
from save_relay.core.tlp import Label
from save_relay.delivery.notices import ask_moderators, queue_notice
from save_relay.mail.i18n import Reason, Refusal, reply_marker
from save_relay.processing.gate import Actor
from save_relay.store import approvals, audit
from save_relay.store.tables import ApprovalRequest, Report

log = logging.getLogger(__name__)


def sensitive(conf: NetworkSettings, label: Label, recipients: int) -> list[str]:
    """Why a distribution needs a second moderator (empty: it does not)."""
    rules = conf.four_eyes
    why = []
    if rules.recipients_above is not None and recipients > rules.recipients_above:
        why.append("recipients")
    if rules.tlp_red and label == Label.RED:
        why.append("tlp_red")
    return why


@dataclass(frozen=True, slots=True)
class Gate:
    """What four-eyes says about an approval: ``waiting`` (kept for a second moderator), or go on with
    ``plan`` (the first moderator's, when this is the confirmation; else the caller's own)."""

    waiting: bool
    plan: dict[str, Any] = field(default_factory=dict)
    first: dict[str, Any] | None = None


async def gate(
    session: AsyncSession,
    ctx: Context,
    report: Report,
    actor: Actor,
    *,
    plan: dict[str, Any],
    plain: bool,
    recipients: int,
) -> Gate:
    """Decide whether an approval goes out now, in the caller's transaction (the report is locked).

    ``plan``: the approval as resolved (zones, groups, named, edit_text, credit, tlp); ``plain``: the
    moderator changed nothing (a plain ``ok``). Either, or a plan equal to the waiting one (the console
    always sends its ticked zones and groups), confirms a waiting approval as it stands; from its own
    first moderator it is refused. A changed approval replaces the waiting one and waits in turn.
    """
    network = ctx.network(report.network_id)
    waiting = await approvals.waiting_for(session, report.id)
    if waiting is not None:
        unchanged = (plain or plan == waiting.decision) and waiting.decision.get("tlp") == report.tlp
        if waiting.first_by == actor.name and unchanged:
            raise CommandRefused(
                f"{report.reference} was already approved by {actor.name}: four-eyes needs another moderator",
                Refusal.of(Reason.SAME_MODERATOR, reference=report.reference or "", by=actor.name),
            )
        if unchanged:
            waiting.status, waiting.second_by, waiting.closed_at = (
                ApprovalStatus.CONFIRMED,
                actor.name,
                utcnow(),
            )
            first = waiting.first_approval()
            return Gate(False, dict(waiting.decision), first)
        waiting.status, waiting.second_by, waiting.closed_at = ApprovalStatus.SUPERSEDED, actor.name, utcnow()
    why = sensitive(network.settings, Label(report.tlp), recipients)
    if not why:
        return Gate(False, plan)
    await _wait(session, ctx, network, report, actor, plan=plan, why=why, recipients=recipients)
    return Gate(True, plan)


async def _wait(
    session: AsyncSession,
    ctx: Context,
    network: NetworkRef,
    report: Report,
    actor: Actor,
    *,
    plan: dict[str, Any],
    why: list[str],
    recipients: int,
) -> None:
    """Keep the first approval and ask the other moderators for the second."""
    conf = network.settings
    expires = utcnow() + timedelta(hours=conf.four_eyes.hours)
    session.add(
        ApprovalRequest(
            network_id=network.id,
            report_id=report.id,
            status=ApprovalStatus.WAITING,
            first_by=actor.name,
            first_via=actor.via,
            decision=plan,
            reasons=why,
            recipients=recipients,
            expires_at=expires,
        )
    )
    others = [m for m in conf.moderators if m != actor.name]
    if others:
        await ask_moderators(
            session,
            ctx,
            network,
            report,
            kind="notification",
            template="four_eyes_request",
            expires_at=expires,
            moderators=others,
            context={
                **_context(report, plan, recipients, why, conf),
                "first_by": actor.name,
                "reply_marker": reply_marker(conf.language),
                "expires": _local(expires, conf.timezone),
            },
        )
    audit.record(
        session,
        action="report_approval_waiting",
        actor=actor.name,
        via=actor.via,
        network_id=network.id,
        object_ref=report.reference,
        message_id=actor.message_id,
        tlp=report.tlp,
        reasons=why,
        recipients=recipients,
        zones=plan.get("zones", []),
        groups=plan.get("groups", []),
        named=len(plan.get("named", [])),
        asked=len(others),
    )
    log.info(
        "%s approved by %s, waiting for a second moderator (%s)",
        report.reference,
        actor.name,
        ", ".join(why),
        extra={"action": "report_approval_waiting", "reference": report.reference, "actor": actor.name},
    )


def _context(
    report: Report, plan: dict[str, Any], recipients: int, why: list[str], conf: NetworkSettings
) -> dict[str, Any]:
    text = plan.get("edit_text") or report.preview_text or ""
    return {
        "reference": report.reference,
        "subject": report.subject or "-",
        "tlp": Label(report.tlp).tag,
        "zones": plan.get("zones", []),
        "groups": plan.get("groups", []),
        "named": plan.get("named", []),
        "recipients": recipients,
        "reasons": why,
        "limit": conf.four_eyes.recipients_above,
        "preview": f"{Label(report.tlp).tag}\n\n{text}",
    }


def _local(when: datetime, timezone: str) -> str:
    return as_utc(when).astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


async def close_waiting(session: AsyncSession, report: Report, actor: Actor) -> None:
    """A rejection (or another final decision) ends a waiting approval of the report."""
    waiting = await approvals.waiting_for(session, report.id)
    if waiting is not None:
        waiting.status, waiting.second_by, waiting.closed_at = ApprovalStatus.SUPERSEDED, actor.name, utcnow()


async def lapse_due(session: AsyncSession, ctx: Context, now: datetime) -> int:
    """Waiting approvals past their time lapse: every moderator is told; the report is pending again (a
    distribution) or stays on hold (a hold's release, ``membership/holds.py``)."""
    count = 0
    for request_id in await approvals.due(session, list(ctx.by_id), now):
        request = await session.get(ApprovalRequest, request_id)
        assert request is not None
        report = await session.get(Report, request.report_id, with_for_update=True)  # the report first
        await session.refresh(request, with_for_update=True)
        if request.status != ApprovalStatus.WAITING:
            continue
        request.status, request.closed_at = ApprovalStatus.LAPSED, now
        count += 1
        decided = (
            request.kind == "distribution" and report is not None and report.status != ReportStatus.PENDING
        )
        if report is None or decided:
            continue  # a report decided meanwhile: nothing waits any more
        network = ctx.network(report.network_id)
        conf = network.settings
        for moderator in conf.moderators:
            queue_notice(
                session,
                network,
                kind="notice",
                template="four_eyes_lapsed",
                to=moderator,
                context={
                    "reference": report.reference,
                    "subject": report.subject or "-",
                    "first_by": request.first_by,
                    "first_at": _local(request.created_at, conf.timezone),
                    "hours": conf.four_eyes.hours,
                    "kind": request.kind,
                },
            )
        audit.record(
            session,
            action="report_approval_lapsed",
            actor="system",
            via="scheduler",
            network_id=network.id,
            object_ref=report.reference,
            first_by=request.first_by,
            hours=conf.four_eyes.hours,
            kind=request.kind,
        )
        log.info(
            "%s: the approval by %s lapsed without a second moderator",
            report.reference,
            request.first_by,
            extra={"action": "report_approval_lapsed", "reference": report.reference},
        )
    return count
