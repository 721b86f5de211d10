"""An answer forwarded at once costs no extra round trips: inserted already marked, its raw mail not
read back for the attachments it was just parsed for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event, select

from save_relay.store.tables import CanvassAnswer
from tests.e2e.canvass_support import (
    OWNER,
    answer,
    canvass_settings,
    mails_to,
    post_request,
    questions,
    start_relay,
)
from tests.helpers import Sink, wait_for

JPEG = b"\xff\xd8\xff\xe0 camera 4, 03:05" + bytes(range(64))


async def test_forwarding_an_answer_reads_and_writes_it_once(db_url: str, sink: Sink, tmp_path: Path) -> None:
    relay = await start_relay(canvass_settings(db_url, sink, tmp_path))
    try:
        await post_request(relay, "near: 51.23988, 5.28620\nradius: 350 m\nclose: 1h\n\nWie zag de wagen?")
        [first, second, *_] = await wait_for(lambda: len(questions(sink, 1)) >= 3 and questions(sink, 1))
        statements: list[str] = []

        def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            statements.append(" ".join(statement.split()).lower())

        event.listen(relay.engine.sync_engine, "before_cursor_execute", record)
        await answer(relay, first, "Camera 4 zag hem om 03:05.", attachment=("cam4.jpg", JPEG))
        await answer(relay, second, "Niets gezien.")
        await wait_for(lambda: len(mails_to(sink, OWNER, "Antwoord op buurtonderzoek #1")) >= 2)
        event.remove(relay.engine.sync_engine, "before_cursor_execute", record)
        forwards = mails_to(sink, OWNER, "Antwoord op buurtonderzoek #1")

        still = next(m for m in forwards if str(m.message["Reply-To"]) == first.rcpt_tos[0])
        [attached] = list(still.message.iter_attachments())
        assert attached.get_content() == JPEG and attached.get_filename().endswith("-1-cam4.jpg")
        assert not [s for s in statements if s.startswith("update canvass_answers")]
        assert not [s for s in statements if "from canvass_answers join inbound_messages" in s]
        async with relay.sessions() as session:
            assert all(await session.scalars(select(CanvassAnswer.forwarded_at))), "forwarded, marked"
    finally:
        await relay.stop()
