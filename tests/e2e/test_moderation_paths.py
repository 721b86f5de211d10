"""Each moderator answer, and each way a reply must be refused, over real SMTP."""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from sqlalchemy import select, update

from save_relay.app import Relay
from save_relay.core.clock import utcnow
from save_relay.store.tables import AuditEntry, Delivery, Report, Token
from tests.conftest import MODERATORS
from tests.e2e.test_report_flow import distributed, notification_for, post_report, reply
from tests.helpers import Sink, smtp_send, wait_for


async def report_status(relay: Relay, reference: str) -> Report:
    async with relay.sessions() as session:
        report = await session.scalar(select(Report).where(Report.reference == reference))
        assert report is not None
        return report


async def refusals(relay: Relay) -> list[str]:
    async with relay.sessions() as session:
        rows = await session.scalars(select(AuditEntry).where(AuditEntry.action == "confirm_refused"))
        return [str(row.detail.get("reason")) for row in rows]


async def distribution_deliveries(relay: Relay) -> int:
    async with relay.sessions() as session:
        rows = await session.scalars(select(Delivery.id).where(Delivery.kind == "distribution"))
        return len(list(rows))


def error_mails(sink: Sink, to: str) -> list[str]:
    return [
        m.message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        for m in sink.to(to)
        if "Niet uitgevoerd" in str(m.message["Subject"])
    ]


@pytest.mark.parametrize("style", ["outlook", "gmail"])
async def test_reject_with_reason(relay: Relay, sink: Sink, style: str) -> None:
    reference = await post_report(relay)
    note = await notification_for(sink, MODERATORS[1], reference)
    await reply(
        relay, note, "afwijzen: dubbel gemeld, zie SAVE-2026-000001", sender=MODERATORS[1], style=style
    )
    report = await wait_for(lambda: _decided(relay, reference))
    assert report.status == "rejected"
    assert report.reason == "dubbel gemeld, zie SAVE-2026-000001"
    assert report.decided_by == MODERATORS[1]
    assert await distribution_deliveries(relay) == 0
    await wait_for(lambda: [m for m in sink.to(MODERATORS[1]) if "afgewezen" in str(m.message["Subject"])])


async def test_edit_replaces_text_and_keeps_quote_out(relay: Relay, sink: Sink) -> None:
    reference = await post_report(relay, body="Origineel: namen en nummerplaat 1-ABC-123 van de dader.\n")
    note = await notification_for(sink, MODERATORS[0], reference)
    edit = "bewerk\nOpgelet: een witte bestelwagen gezien aan Balendijk rond 03:00.\nMeld info aan de politie"
    await reply(relay, note, edit)
    delivered = await wait_for(lambda: distributed(sink, reference))
    body = delivered[0].message.get_body(preferencelist=("plain",)).get_content()
    assert "Opgelet: een witte bestelwagen gezien aan Balendijk rond 03:00." in body
    assert "Meld info aan de politie" in body
    assert "1-ABC-123" not in body  # the original text is replaced
    assert "Verzonden:" not in body and "moderer" not in body  # the quoted notification stays out


async def test_zones_choose_the_target(relay: Relay, sink: Sink) -> None:
    reference = await post_report(relay)  # the reporter sits in kolonel-dusart
    note = await notification_for(sink, MODERATORS[0], reference)
    await reply(relay, note, "zones: Maatheide", style="gmail")
    report = await wait_for(lambda: _decided(relay, reference))
    assert report.status == "approved" and report.zones == ["maatheide"]
    count = await distribution_deliveries(relay)
    delivered = await wait_for(lambda: distributed(sink, reference, count))
    addresses = {r for m in delivered for r in m.rcpt_tos}
    assert "security@metaalwerken-vos.example" not in addresses  # not in Maatheide
    assert "ploeg.a@politie.lommel.example" in addresses  # the default group still gets it


async def test_unknown_zone_changes_nothing_and_says_why(relay: Relay, sink: Sink) -> None:
    reference = await post_report(relay)
    note = await notification_for(sink, MODERATORS[0], reference)
    await reply(relay, note, "zones: Atlantis")
    errors = await wait_for(lambda: error_mails(sink, MODERATORS[0]))
    assert "Atlantis" in errors[0]
    assert (await report_status(relay, reference)).status == "pending"
    # The token was not spent by a failed command: a corrected reply goes through.
    await reply(relay, note, "ok")
    assert (await wait_for(lambda: _decided(relay, reference))).status == "approved"


async def test_unknown_command_is_refused(relay: Relay, sink: Sink) -> None:
    reference = await post_report(relay)
    note = await notification_for(sink, MODERATORS[0], reference)
    await reply(relay, note, "aprove")
    errors = await wait_for(lambda: error_mails(sink, MODERATORS[0]))
    assert "aprove" in errors[0]
    assert (await report_status(relay, reference)).status == "pending"


async def test_used_token_is_refused(relay: Relay, sink: Sink) -> None:
    reference = await post_report(relay)
    note = await notification_for(sink, MODERATORS[0], reference)
    await reply(relay, note, "ok")
    await wait_for(lambda: _decided(relay, reference))
    sent = await distribution_deliveries(relay)
    await reply(relay, note, "afwijzen")  # replayed token
    await wait_for(lambda: refusals(relay))
    assert (await report_status(relay, reference)).status == "approved"
    assert await distribution_deliveries(relay) == sent
    answer = (await wait_for(lambda: error_mails(sink, MODERATORS[0])))[0]
    assert f"{reference} werd al behandeld door {MODERATORS[0]} op " in answer  # who and when, in Dutch


async def test_other_moderators_token_is_spent_by_a_decision(relay: Relay, sink: Sink) -> None:
    reference = await post_report(relay)
    first = await notification_for(sink, MODERATORS[0], reference)
    second = await notification_for(sink, MODERATORS[1], reference)
    await reply(relay, first, "ok")
    await wait_for(lambda: _decided(relay, reference))
    await reply(relay, second, "afwijzen", sender=MODERATORS[1])
    assert await wait_for(lambda: refusals(relay))
    assert (await report_status(relay, reference)).status == "approved"
    told = (await wait_for(lambda: error_mails(sink, MODERATORS[1])))[0]
    assert f"werd al behandeld door {MODERATORS[0]}" in told  # the colleague hears who decided


async def test_forged_from_with_another_moderators_token(relay: Relay, sink: Sink) -> None:
    reference = await post_report(relay)
    note = await notification_for(sink, MODERATORS[0], reference)
    # Moderator 1's token, but the mail says it is from moderator 2 (or from anybody else).
    await reply(relay, note, "ok", sender=MODERATORS[1])
    await reply(relay, note, "ok", sender="boef@evil.example")
    reasons = await wait_for(lambda: _at_least(refusals(relay), 2))
    assert all("naar een andere moderator" in r for r in reasons)
    assert (await report_status(relay, reference)).status == "pending"
    assert error_mails(sink, "boef@evil.example") == []  # no backscatter to strangers


async def test_expired_token_is_refused(relay: Relay, sink: Sink) -> None:
    reference = await post_report(relay)
    note = await notification_for(sink, MODERATORS[0], reference)
    async with relay.sessions() as session, session.begin():
        await session.execute(update(Token).values(expires_at=utcnow() - timedelta(minutes=1)))
    await reply(relay, note, "ok")
    reasons = await wait_for(lambda: refusals(relay))
    assert "vervallen" in reasons[0]
    assert (await report_status(relay, reference)).status == "pending"


async def test_unknown_token_is_refused(relay: Relay, sink: Sink) -> None:
    reference = await post_report(relay)
    note = await notification_for(sink, MODERATORS[0], reference)
    forged = "industrie+confirm-" + "a" * 26 + "@politie.lommel.be"
    await reply(relay, note, "ok", to=forged)
    reasons = await wait_for(lambda: refusals(relay))
    assert "onbekend antwoordadres" in reasons[0]  # in the network's language (nl)
    assert (await report_status(relay, reference)).status == "pending"


async def test_token_of_another_report_is_refused(relay: Relay, sink: Sink) -> None:
    first = await post_report(relay, subject="Eerste melding")
    second = await post_report(relay, subject="Tweede melding")
    note_first = await notification_for(sink, MODERATORS[0], first)
    note_second = await notification_for(sink, MODERATORS[0], second)
    # A reply about the second report (its subject) sent to the first report's token.
    await reply(relay, note_second, "ok", to=str(note_first.message["Reply-To"]))
    reasons = await wait_for(lambda: refusals(relay))
    assert re.search(r"hoort bij SAVE-\d{4}-\d{6}, niet bij SAVE-", reasons[0])
    assert (await report_status(relay, first)).status == "pending"
    assert (await report_status(relay, second)).status == "pending"


async def _at_least(values: object, n: int) -> list[str] | None:
    found = await values  # type: ignore[misc]
    return found if len(found) >= n else None


async def _decided(relay: Relay, reference: str) -> Report | None:
    report = await report_status(relay, reference)
    return report if report.status != "pending" else None


async def test_credit_names_the_reporting_company(relay: Relay, sink: Sink) -> None:
    reference = await post_report(relay)
    note = await notification_for(sink, MODERATORS[0], reference)
    await reply(relay, note, "ok\nvermeld", style="gmail")
    delivered = await wait_for(lambda: distributed(sink, reference))
    body = delivered[0].message.get_body(preferencelist=("plain",)).get_content()
    assert "Metaalwerken Vos NV" in body  # the company, as issue 15 asks: never the address
    assert "@metaalwerken-vos" not in body


@pytest.mark.parametrize("client", ["outlook-html", "apple-mail-html"])
async def test_html_only_reply_is_understood(relay: Relay, sink: Sink, client: str) -> None:
    reference = await post_report(relay)
    note = await notification_for(sink, MODERATORS[0], reference)
    quoted = note.message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    quoted_html = "<br>".join(quoted.splitlines())
    if client == "outlook-html":
        html = (
            '<html><body><div dir="ltr">Akkoord<br></div><div><br></div>'
            '<hr style="display:inline-block;width:98%"><div id="divRplyFwdMsg" dir="ltr">'
            "<b>Van:</b> SaVE Lommel &lt;industrie@politie.lommel.be&gt;<br>"
            "<b>Verzonden:</b> dinsdag 24 november 2026 10:12<br>"
            f"<b>Aan:</b> {MODERATORS[0]}<br><b>Onderwerp:</b> {note.message['Subject']}</div>"
            f"<div>{quoted_html}</div></body></html>"
        )
    else:
        html = (
            '<html><body dir="auto">Akkoord<div><br><blockquote type="cite">Op 24 nov. 2026 om 10:12 heeft'
            " SaVE Lommel &lt;industrie@politie.lommel.be&gt; het volgende geschreven:<br><br>"
            f"{quoted_html}</blockquote></div></body></html>"
        )
    message = EmailMessage()
    message["From"] = MODERATORS[0]
    message["To"] = str(note.message["Reply-To"])
    message["Subject"] = "Re: " + str(note.message["Subject"])
    message["Message-ID"] = make_msgid(domain="politie.lommel.be")
    message.set_content(html, subtype="html")
    code, _ = await smtp_send(relay.smtp_port, MODERATORS[0], [str(message["To"])], message)
    assert code == 250
    assert (await wait_for(lambda: _decided(relay, reference))).status == "approved"
