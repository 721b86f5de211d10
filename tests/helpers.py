"""Test helpers: a recording SMTP sink, an SMTP client, polling, and mail builders."""

from __future__ import annotations

import asyncio
import email
import email.policy
import email.utils
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import aiosmtplib
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]

    @property
    def text(self) -> str:
        """The plain-text body, decoded."""
        body = self.message.get_body(preferencelist=("plain",))
        assert body is not None
        return str(body.get_content())  # type: ignore[attr-defined]


@dataclass
class Sink:
    """A smarthost on loopback: records every message; ``answers`` can refuse recipients."""

    server: asyncio.Server | None = None
    messages: list[Received] = field(default_factory=list)
    answers: dict[str, str] = field(default_factory=dict)
    default_answer: str | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        answer = self.answers.get(address.lower(), self.default_answer)
        if answer:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.messages.append(
            Received(envelope.mail_from or "", list(envelope.rcpt_tos), envelope.original_content or b"")
        )
        return "250 2.0.0 Ok: queued"

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address.lower() in (r.lower() for r in m.rcpt_tos)]

    def recipients(self) -> list[str]:
        return [r.lower() for m in self.messages for r in m.rcpt_tos]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()


async def start_sink() -> Sink:
    sink = Sink()
    loop = asyncio.get_running_loop()
    sink.server = await loop.create_server(
        lambda: SMTP(sink, hostname="sink.test", enable_SMTPUTF8=True), host="127.0.0.1", port=0
    )
    return sink


async def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll ``predicate`` (sync or async) until truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)


async def smtp_send(
    port: int, mail_from: str, rcpts: list[str], data: bytes | EmailMessage
) -> tuple[int, str]:
    """Send over real SMTP; returns the final (code, text) of DATA."""
    raw = data.as_bytes(policy=email.policy.SMTP) if isinstance(data, EmailMessage) else data
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=10, start_tls=False)
    await client.connect()
    try:
        await client.mail(mail_from)
        for rcpt in rcpts:
            await client.rcpt(rcpt)
        response = await client.data(raw)
        return response.code, response.message
    finally:
        await client.quit()


def report_message(
    sender: str = "Jan Vos <security@metaalwerken-vos.example>",
    subject: str = "Verdachte witte bestelwagen",
    body: str = "Vannacht om 03:00 stond een witte bestelwagen aan de poort van ons terrein.\n",
    to: str = "industrie@politie.lommel.be",
    attachment: tuple[str, bytes] | None = None,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = email.utils.make_msgid(domain="metaalwerken-vos.example")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    if attachment:
        message.add_attachment(attachment[1], maintype="image", subtype="jpeg", filename=attachment[0])
    return message


def camera_jpeg(width: int = 64, height: int = 48, orientation: int = 1) -> bytes:
    """A real JPEG as a phone camera writes it: EXIF with the camera, the time taken and a GPS position
    (Lommel), made with Pillow (what the relay must strip before a photo leaves the police)."""
    import io

    from PIL import Image

    image = Image.new("RGB", (width, height), (200, 40, 40))
    exif = Image.Exif()
    exif[0x010F] = "Apple"  # Make
    exif[0x0110] = "iPhone 15"  # Model
    exif[0x0132] = "2026:11:24 03:10:00"  # DateTime
    exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (51.0, 14.0, 22.0)
    gps[3], gps[4] = "E", (5.0, 18.0, 36.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()
