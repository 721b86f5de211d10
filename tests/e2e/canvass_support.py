"""Helpers for the canvass tests: a relay whose scheduler ticks fast, request and answer mails, and
the expected recipients computed from the demo CSV independently of ``save_relay.core.geo``."""

from __future__ import annotations

import csv
import email.utils
import math
import re
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import select

from save_relay.app import Relay
from save_relay.core.settings import Settings
from save_relay.store.tables import Canvass
from tests.conftest import MODERATORS, make_settings, seed_demo
from tests.helpers import Received, Sink, smtp_send, wait_for

ROOT = Path(__file__).resolve().parents[2]
CANVASS_ADDRESS = "industrie+canvass@politie.lommel.be"
REPLY_TO = re.compile(r"industrie\+reply-[a-z2-7]{26}@politie\.lommel\.be")
OWNER = MODERATORS[0]
VOS = (51.23988, 5.28620)  # Metaalwerken Vos NV, Balendijk 112


def canvass_settings(db_url: str, sink: Sink, tmp_path: Path, **overrides: object) -> Settings:
    scheduler = {"tick_seconds": 0.2, **overrides.pop("scheduler", {})}  # type: ignore[dict-item]
    return make_settings(db_url, sink.port, tmp_path, scheduler=scheduler, **overrides)


async def start_relay(settings: Settings, *, seed: bool = True) -> Relay:
    relay = Relay(settings)
    await relay.start(migrate=False)
    if seed:
        await seed_demo(relay.engine, relay)
    return relay


def expected_near(point: tuple[float, float], radius_m: float) -> dict[str, str]:
    """address -> company of the demo subscribers within ``radius_m`` (spherical law of cosines),
    without the police's patrol shifts."""
    found: dict[str, str] = {}
    with (ROOT / "config/subscribers.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if "politie-ploegen" in row["groups"]:
                continue
            p1, p2 = math.radians(point[0]), math.radians(float(row["latitude"]))
            dl = math.radians(float(row["longitude"]) - point[1])
            cos = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
            if 6_371_008.8 * math.acos(min(1.0, cos)) <= radius_m:
                for address in row["addresses"].split(";"):
                    found[address.strip().lower()] = row["company"]
    return found


def request_mail(
    body: str, sender: str = OWNER, subject: str = "Witte bestelwagen Balendijk"
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Inspecteur Peeters <{sender}>"
    message["To"] = CANVASS_ADDRESS
    message["Subject"] = subject
    message["Message-ID"] = email.utils.make_msgid(domain="politie.lommel.be")
    message.set_content(body)
    return message


async def post_request(relay: Relay, body: str, sender: str = OWNER, **kwargs: str) -> None:
    code, text = await smtp_send(
        relay.smtp_port, sender, [CANVASS_ADDRESS], request_mail(body, sender, **kwargs)
    )
    assert code == 250, text


def questions(sink: Sink, canvass_id: int, reminder: bool = False) -> list[Received]:
    """The canvass mails (or its reminders) received at the sink."""
    return [
        m
        for m in sink.messages
        if m.message["X-Save-Relay-Canvass"] == str(canvass_id)
        and REPLY_TO.fullmatch(str(m.message["Reply-To"]))
        and (any(w in str(m.message["Subject"]) for w in ("Herinnering", "Reminder"))) == reminder
    ]


def mails_to(sink: Sink, address: str, subject_part: str) -> list[Received]:
    return [m for m in sink.to(address) if subject_part in str(m.message["Subject"])]


def text_of(received: Received) -> str:
    body = received.message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())  # type: ignore[attr-defined]


async def answer(
    relay: Relay,
    question: Received,
    body: str,
    *,
    sender: str | None = None,
    attachment: tuple[str, bytes] | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    """Reply to ``question`` (from its recipient unless ``sender``), quoting it like a mail program."""
    sender = sender or question.rcpt_tos[0]
    message = EmailMessage()
    message["From"] = sender
    message["To"] = str(question.message["Reply-To"])
    message["Subject"] = "Re: " + str(question.message["Subject"])
    message["In-Reply-To"] = str(question.message["Message-ID"])
    message["Message-ID"] = email.utils.make_msgid(domain=sender.split("@")[1])
    for name, value in (headers or {}).items():
        message[name] = value
    quoted = "\n".join("> " + line for line in text_of(question).splitlines())
    message.set_content(
        f"{body}\n\nOp 21 nov 2026 schreef SaVE Lommel <industrie@politie.lommel.be>:\n{quoted}\n"
    )
    if attachment:
        message.add_attachment(attachment[1], maintype="image", subtype="jpeg", filename=attachment[0])
    code, text = await smtp_send(relay.smtp_port, sender, [str(message["To"])], message)
    assert code == 250, text


async def canvass_row(relay: Relay, canvass_id: int = 1) -> Canvass | None:
    async with relay.sessions() as session:
        return await session.scalar(select(Canvass).where(Canvass.id == canvass_id))


async def wait_status(relay: Relay, status: str, canvass_id: int = 1, timeout: float = 20.0) -> Canvass:
    async def reached() -> Canvass | None:
        row = await canvass_row(relay, canvass_id)
        return row if row is not None and row.status == status else None

    found: Canvass = await wait_for(reached, timeout=timeout)
    return found
