"""An urgent distribution's SMS: its text, and one ``sms`` delivery per opted-in number of its recipients.

The text is the report's reference and its essence: the moderator's ``sms: ...`` (up to the
network's ``sms.max_parts`` parts), else the subject and the text the mail carries, folded and cut
at a word to fit one part. An exercise carries the exercise word first, in the network's language,
as its mail does. Who gets an SMS is decided by who gets the mail (``store.phones.sms_query``): the
TLP rules and the named recipients of a ``TLP:RED`` report hold for SMS as they do for mail.
"""

from __future__ import annotations

import re

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core import gsm
from save_relay.core.context import NetworkRef
from save_relay.mail.i18n import field_name
from save_relay.store import deliveries
from save_relay.store.phones import sms_query
from save_relay.store.tables import Distribution, Report


def _folded(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def compose(
    *, language: str, reference: str, essence: str | None, shown: str, exercise: bool, max_parts: int
) -> str:
    """The SMS text: ``[OEFENING] REF: essence`` (the essence cut to ``max_parts`` parts), or
    ``REF: shown`` cut to one part when the moderator gave no essence."""
    head = (f"[{field_name('exercise', language).upper()}] " if exercise else "") + f"{reference}: "
    if essence and _folded(essence):
        return gsm.cut(head + _folded(essence), max_parts)
    return gsm.cut(head + _folded(shown), 1)


async def queue_sms(
    session: AsyncSession,
    network: NetworkRef,
    report: Report,
    distribution: Distribution,
    recipients: Select[tuple[str]],
    shown: str,
) -> int:
    """Queue the SMS of an urgent ``distribution`` whose mail goes to ``recipients``; returns how many.

    None without an enabled gateway: an urgent SMS sent once someone configures one, hours later,
    would mislead; the mail goes all the same and the confirmation says 0 SMS."""
    conf = network.settings
    if conf.sms is None or not conf.sms.enabled:
        return 0
    text = compose(
        language=conf.language,
        reference=report.reference or "",
        essence=distribution.sms_text,
        shown=shown,
        exercise=report.exercise,
        max_parts=conf.sms.max_parts,
    )
    return await deliveries.fan_out_sms(session, distribution, sms_query(network.id, recipients), text)
