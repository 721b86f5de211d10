"""The reporter withdraws a pending report: ``intrekken`` (``retirer``, ``withdraw``, ``zurückziehen``) in
reply to the acknowledgement.

Only through the acknowledgement's ``+followup-TOKEN`` (bound to the report and the reporter's address),
only from that very address, and only while the report is pending. The report becomes ``withdrawn``:
never distributed; the moderators' reply addresses are spent, and a later approval is answered
"withdrawn by the reporter at ..." (``confirm.py``, ``decide.py``). Every moderator gets a notice, the
reporter a confirmation; both the withdrawal and a refused attempt are audited.
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.clock import as_utc, utcnow
from save_relay.core.context import Context
from save_relay.core.states import ReportStatus, TokenPurpose
from save_relay.delivery.notices import queue_notice
from save_relay.mail.i18n import Reason, Refusal, reason_text
from save_relay.mail.parse import ParsedMessage
from save_relay.processing.gate import Actor, Refused
from save_relay.store import audit
from save_relay.store import tokens as token_store
from save_relay.store.tables import Report, Token

log = logging.getLogger(__name__)


async def withdraw(
    session: AsyncSession, ctx: Context, report: Report, token: Token, actor: Actor, parsed: ParsedMessage
) -> None:
    """Withdraw ``report`` for its reporter (``token``: the acknowledgement's); raises ``Refused``."""
    network = ctx.network(report.network_id)
    conf = network.settings
    await session.refresh(report, with_for_update=True)  # the report before its tokens, as everywhere
    reference = report.reference or ""

    def refused(code: Reason, **params: str) -> Refused:
        return Refused(reason_text(Refusal.of(code, **params), conf.language), reference)

    if actor.name != token.address:
        raise refused(Reason.NOT_REPORTER)
    if report.status == ReportStatus.WITHDRAWN:
        raise refused(Reason.WITHDRAWN, reference=reference, at=local_time(report, conf.timezone))
    if report.status != ReportStatus.PENDING:
        raise refused(Reason.WITHDRAW_TOO_LATE, reference=reference)
    report.status, report.decided_at, report.decided_by = ReportStatus.WITHDRAWN, utcnow(), actor.name
    await token_store.use_all_for_report(session, report.id, TokenPurpose.CONFIRM)
    context = {
        "reference": reference,
        "subject": report.subject or "-",
        "by": actor.name,
        "at": local_time(report, conf.timezone),
    }
    headers = [("X-Save-Relay-Reference", reference)]
    for moderator in conf.moderators:
        queue_notice(
            session,
            network,
            kind="decided",
            template="withdrawn_notice",
            to=moderator,
            context=context,
            headers=headers,
        )
    queue_notice(
        session,
        network,
        kind="outcome",
        template="withdrawal_confirmation",
        to=actor.name,
        context=context,
        in_reply_to=parsed.message_id,
        headers=headers,
    )
    audit.record(
        session,
        action="report_withdrawn",
        actor=actor.name,
        via=actor.via,
        network_id=network.id,
        object_ref=reference,
        message_id=actor.message_id,
        moderators_told=len(conf.moderators),
    )
    log.info(
        "%s withdrawn by the reporter",
        reference,
        extra={"action": "report_withdrawn", "reference": reference},
    )


def local_time(report: Report, timezone: str) -> str:
    """When the report was decided (withdrawn), ``YYYY-MM-DD HH:MM`` on the network's clock."""
    when = report.decided_at or utcnow()
    return as_utc(when).astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")
