"""Who handles what, in one place: read this page to know where a message or a scheduled job goes.

- ``HANDLERS``: a stored message's ``+purpose`` (the sub-address it was sent to) -> its handler.
- ``TOKEN_PURPOSES``: a ``+confirm-TOKEN`` reply's token purpose -> its handler (``MODERATOR_PURPOSES``
  carry a moderator's authority and pass the ``require_dkim`` check first).
- ``JOBS``: the scheduled work of every daemon.

The stages (``processing/``) know only the types; ``app.py`` hands these tables to them, so the
features they name never have to be imported by the stages that run them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from save_relay.canvass import inbox as canvass_inbox
from save_relay.canvass import jobs as canvass_jobs
from save_relay.channels.dispatch import dispatch_events, purge_dispatched
from save_relay.core.routing import Purpose
from save_relay.core.states import TokenPurpose
from save_relay.delivery.bounces import handle_bounce, match_unmatched
from save_relay.membership import confirmations, erasure_approval
from save_relay.membership.digest import send_unsubscribe_digest
from save_relay.membership.requests import handle_membership_request
from save_relay.membership.retention import purge_expired
from save_relay.membership.unsubscribe import handle_unsubscribe
from save_relay.moderation import foureyes, housekeeping, labels, monthly_test
from save_relay.moderation.announce import handle_post
from save_relay.moderation.confirm import handle_report_reply
from save_relay.moderation.followup import handle_followup
from save_relay.processing.dispatch import Handler, TokenDispatch, TokenHandler
from save_relay.processing.scheduler import Job
from save_relay.stats import monthly

#: Token purpose -> what a reply with such a token does.
TOKEN_PURPOSES: Mapping[str, TokenHandler] = {
    TokenPurpose.CONFIRM: handle_report_reply,
    TokenPurpose.SUBSCRIBE: confirmations.handle_confirmation,
    TokenPurpose.LEAVE: confirmations.handle_confirmation,
    TokenPurpose.SUBSCRIPTION: confirmations.handle_confirmation,
    TokenPurpose.CANVASS_CANCEL: canvass_inbox.handle_cancel,
    TokenPurpose.CANVASS_APPROVE: canvass_inbox.handle_approve,
    TokenPurpose.TLP_CONSENT: labels.handle_consent,
}

#: Purposes whose replies carry a moderator's authority: checked against ``require_dkim``. A requester's
#: own opt-in (``subscribe``, ``leave``) is not: the token proves the mailbox, whatever its domain signs.
MODERATOR_PURPOSES = frozenset(
    {
        TokenPurpose.CONFIRM,
        TokenPurpose.SUBSCRIPTION,
        TokenPurpose.CANVASS_CANCEL,
        TokenPurpose.CANVASS_APPROVE,
    }
)

#: Sub-address purpose -> the handler of a stored message sent there.
HANDLERS: Mapping[str, Handler] = {
    Purpose.POST: handle_post,
    Purpose.CONFIRM: TokenDispatch(TOKEN_PURPOSES, MODERATOR_PURPOSES, unknown=handle_report_reply),
    Purpose.BOUNCES: handle_bounce,
    Purpose.UNSUBSCRIBE: handle_unsubscribe,
    Purpose.REQUEST: handle_membership_request,
    Purpose.CANVASS: canvass_inbox.handle_canvass_request,
    Purpose.REPLY: canvass_inbox.handle_answer,
    # a report's follow-up: +followup-TOKEN, or the plain address in the thread of our mail (intake)
    Purpose.FOLLOWUP: handle_followup,
}

#: The scheduled work of every daemon (``every``: at most once per period across all daemons).
JOBS: tuple[Job, ...] = (
    Job("canvass-steps", canvass_jobs.run_due_step, drain=True),
    Job("canvass-digests", canvass_jobs.send_digests, drain=True),
    Job("moderation-reminders", housekeeping.remind_moderators, drain=True),
    Job("report-expiry", housekeeping.expire_reports, drain=True),
    Job("four-eyes-lapse", foureyes.lapse_due, drain=True),
    Job("canvass-four-eyes-lapse", canvass_jobs.lapse_approvals, drain=True),
    Job("erasure-four-eyes-lapse", erasure_approval.lapse_due, drain=True),
    Job("delivery-retries", housekeeping.retries_due),
    Job("webhook-events", dispatch_events, drain=True),
    Job("webhook-events-purge", purge_dispatched, every=timedelta(days=1)),
    Job("canvass-answer-purge", canvass_jobs.purge_answers, every=timedelta(days=1)),
    Job("bounce-matching", match_unmatched),
    Job("membership-digest", send_unsubscribe_digest, every=timedelta(days=1)),
    Job("retention-purge", purge_expired, every=timedelta(days=1)),
    Job("monthly-report", monthly.send_monthly_reports, every=timedelta(hours=1)),
    Job("monthly-test", monthly_test.send_monthly_tests, every=timedelta(hours=1)),
)
