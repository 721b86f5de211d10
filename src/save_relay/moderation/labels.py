"""A report's TLP label: set by the reporter, made stricter by a moderator, lowered only with consent.

- On arrival (``label_on_arrival``): ``TLP:<label>`` in the Subject or on the first line of the text sets
  it, else the network's default (``networks.<key>.tlp``). The tag leaves the subject and the preview, as
  every copy carries the label at its head anyway (``mail/labels.py``). That label is the reporter's:
  the floor a moderator may not go below on their own.
- A moderator (``tlp: red`` in a reply, ``queue set --tlp``, ``queue approve --tlp``) may make it stricter
  at any time; a less strict label than the reporter's needs the reporter's consent: the first attempt
  asks for it (``ask_consent``: a mail with a token of purpose ``tlp-consent``) and is refused; the
  reporter's ``akkoord`` (``handle_consent``) is stored (``tlp_consent``) and audited, and the same
  lowering is then allowed.
- Who may receive it (``targets``): TLP:RED only the addresses the moderator names, never zones or
  groups; TLP:AMBER+STRICT never a group of another organisation (``internal_group``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import as_utc, utcnow
from save_relay.core.context import Context
from save_relay.core.errors import CommandRefused
from save_relay.core.routing import Purpose
from save_relay.core.settings import NetworkSettings
from save_relay.core.states import ReportStatus, TokenPurpose
from save_relay.core.tlp import Label, find, without_tag
from save_relay.delivery.notices import queue_notice
from save_relay.mail.commands import consent_given, visible_reply
from save_relay.mail.i18n import Reason, Refusal, reply_marker
from save_relay.mail.parse import ParsedMessage, parse_message
from save_relay.processing.gate import Actor, Refused, actor_of, is_auto_generated, refuse
from save_relay.store import audit
from save_relay.store import tokens as token_store
from save_relay.store.tables import InboundMessage, Report, Token

log = logging.getLogger(__name__)


class NeedsConsent(CommandRefused):
    """A less strict label than the reporter's, without their consent: ask them (``ask_consent``)."""

    def __init__(self, message: str, refusal: Refusal, wanted: Label) -> None:
        super().__init__(message, refusal)
        self.wanted = wanted


def label_on_arrival(report: Report, parsed: ParsedMessage, conf: NetworkSettings) -> None:
    """The reporter's label (Subject, else the first line of the text), else the network's default.
    Call after the preview is made: the tag is taken out of the subject and the preview's first line."""
    first = next((line for line in parsed.text.splitlines() if line.strip()), "")
    label = find(parsed.subject) or find(first) or conf.tlp
    report.tlp = report.tlp_reporter = label.value
    if find(report.subject):
        report.subject = without_tag(report.subject)[:300]
    if report.preview_text is not None and find(first):
        lines = report.preview_text.splitlines()
        index = next((i for i, line in enumerate(lines) if line.strip()), None)
        if index is not None and find(lines[index]):
            rest = without_tag(lines[index])
            report.preview_text = "\n".join([*lines[:index], *([rest] if rest else []), *lines[index + 1 :]])
            report.preview_text = report.preview_text.strip("\n")


def _record(session: AsyncSession, action: str, report: Report, actor: Actor, **detail: object) -> None:
    """An audit entry about the report's label, by ``actor``."""
    audit.record(
        session,
        action=action,
        actor=actor.name,
        via=actor.via,
        network_id=report.network_id,
        object_ref=report.reference,
        message_id=actor.message_id,
        **detail,
    )


def _may_lower(report: Report, wanted: Label) -> bool:
    """Whether ``wanted`` is allowed: not below the reporter's label, or agreed to by the reporter."""
    if not wanted.less_strict_than(Label(report.tlp_reporter)):
        return True
    return report.tlp_consent is not None and not wanted.less_strict_than(Label(report.tlp_consent))


async def change_label(session: AsyncSession, report: Report, wanted: Label, actor: Actor) -> Label:
    """Set the report's label (audited as ``report_tlp``); raises ``NeedsConsent`` (a reporter to ask)
    or ``CommandRefused`` (none) for a label below the reporter's without their consent."""
    current = Label(report.tlp)
    if wanted == current:
        return current
    if not _may_lower(report, wanted):
        floor = Label(report.tlp_reporter).value
        message = f"TLP:{wanted} is less strict than the reporter's TLP:{floor}"
        if report.sender and report.status == ReportStatus.PENDING:
            refusal = Refusal.of(Reason.TLP_CONSENT_ASKED, label=wanted.value, floor=floor)
            raise NeedsConsent(f"{message}: the reporter's consent was asked", refusal, wanted)
        refusal = Refusal.of(Reason.TLP_NO_CONSENT, label=wanted.value, floor=floor)
        raise CommandRefused(f"{message}, and there is no reporter to ask", refusal)
    report.tlp = wanted.value
    _record(
        session,
        "report_tlp",
        report,
        actor,
        tlp=wanted.value,
        previous=current.value,
        consent=report.tlp_consent if wanted.less_strict_than(Label(report.tlp_reporter)) else None,
    )
    log.info(
        "%s labelled TLP:%s by %s",
        report.reference,
        wanted.value,
        actor.name,
        extra={"action": "report_tlp", "reference": report.reference, "actor": actor.name},
    )
    return wanted


async def ask_consent(
    session: AsyncSession, ctx: Context, report: Report, wanted: Label, actor: Actor
) -> None:
    """Mail the reporter a request to agree to ``wanted`` (a reply with ``akkoord`` to a token of purpose
    ``tlp-consent``), in the caller's transaction; audited as ``tlp_consent_asked``."""
    network = ctx.network(report.network_id)
    conf = network.settings
    assert report.sender is not None
    report.tlp_requested = wanted.value
    expires = utcnow() + timedelta(hours=conf.confirm_ttl_hours)
    token = await token_store.issue(
        session,
        purpose=TokenPurpose.TLP_CONSENT,
        network_id=network.id,
        address=report.sender,
        expires_at=expires,
        report_id=report.id,
    )
    queue_notice(
        session,
        network,
        kind="tlp-consent",
        template="tlp_consent",
        to=report.sender,
        reply_to=ctx.subaddress(conf, Purpose.CONFIRM, token),
        context={
            "reference": report.reference,
            "subject": report.subject,
            "label": Label(report.tlp).tag,
            "floor": Label(report.tlp_reporter).tag,
            "wanted": wanted.tag,
            "reply_marker": reply_marker(conf.language),
        },
    )
    _record(
        session,
        "tlp_consent_asked",
        report,
        actor,
        tlp=wanted.value,
        reporter_label=report.tlp_reporter,
    )


async def handle_consent(session: AsyncSession, ctx: Context, inbound: InboundMessage, token: Token) -> None:
    """The reporter's reply to a consent request: ``akkoord`` (any language) stores the consent, tells
    the moderators and is audited; anything else changes nothing and is answered (to the reporter only)."""
    network = ctx.network(inbound.network_id)
    parsed = parse_message(inbound.raw)
    actor = actor_of(parsed, inbound)
    report = await session.get(Report, token.report_id or 0, with_for_update=True)
    await session.refresh(token, with_for_update=True)
    try:
        if is_auto_generated(parsed):
            raise Refused("automatic reply ignored", answer=False)
        if report is None or actor.name != token.address:
            raise Refused("this reply address was sent to another address", answer=False)
        if token.used_at is not None or as_utc(token.expires_at) <= utcnow():
            raise Refused("this reply address was used already or has expired", report.reference)
        if report.tlp_requested is None:
            raise Refused("no lower label was asked for this report", report.reference)
        if not consent_given(visible_reply(parsed.text)):
            raise Refused("to agree, reply with 'akkoord' (d'accord, agree, einverstanden)", report.reference)
    except Refused as refusal:
        refuse(session, network, actor, refusal, action="tlp_consent_refused")
        return
    token.used_at = utcnow()
    report.tlp_consent = report.tlp_requested
    _record(
        session,
        "tlp_consent",
        report,
        actor,
        tlp=report.tlp_consent,
        reporter_label=report.tlp_reporter,
    )
    for moderator in network.settings.moderators:
        queue_notice(
            session,
            network,
            kind="notice",
            template="tlp_consented",
            to=moderator,
            context={"reference": report.reference, "wanted": Label(report.tlp_consent).tag},
        )
    log.info(
        "%s: the reporter agrees to TLP:%s",
        report.reference,
        report.tlp_consent,
        extra={"action": "tlp_consent", "reference": report.reference},
    )


@dataclass(frozen=True, slots=True)
class Targets:
    """Whom a labelled report goes to: zones and groups, or only ``named`` addresses (TLP:RED);
    ``left_out``: default groups a TLP:AMBER+STRICT report may not reach."""

    zones: tuple[str, ...]
    groups: tuple[str, ...]
    named: tuple[str, ...] = ()
    left_out: tuple[str, ...] = ()


def targets(
    conf: NetworkSettings,
    label: Label,
    zones: Sequence[str],
    groups: Sequence[str],
    *,
    named: Sequence[str] | None,
    asked_groups: Sequence[str] = (),
    asked_zones: bool = False,
) -> Targets:
    """The label's rule on a decision's targets; raises CommandRefused with a clear reason.

    TLP:RED: only ``named`` recipients (required; zones or groups asked for are refused, the proposed
    ones dropped). TLP:AMBER+STRICT: a group of another organisation asked for is refused, a default
    group of one is left out. Named recipients with any other label are refused: they bypass zones.
    """
    if label == Label.RED:
        if asked_zones or asked_groups:
            raise CommandRefused("TLP:RED never goes to zones or groups", Refusal.of(Reason.RED_NO_ZONES))
        if not named:
            raise CommandRefused(
                "TLP:RED goes only to named recipients: give them", Refusal.of(Reason.RED_NEEDS_RECIPIENTS)
            )
        return Targets((), (), tuple(dict.fromkeys(a.lower() for a in named)))
    if named:
        raise CommandRefused("named recipients only with TLP:RED", Refusal.of(Reason.RECIPIENTS_ONLY_RED))
    if label != Label.AMBER_STRICT:
        return Targets(tuple(zones), tuple(groups))
    if external := [g for g in asked_groups if not conf.internal_group(g)]:
        names = ", ".join(external)
        raise CommandRefused(
            f"TLP:AMBER+STRICT does not go to external group(s): {names}",
            Refusal.of(Reason.STRICT_EXTERNAL_GROUPS, names=names),
        )
    kept = tuple(g for g in groups if conf.internal_group(g))
    return Targets(tuple(zones), kept, left_out=tuple(g for g in groups if g not in kept))
