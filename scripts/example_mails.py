"""Write docs/examples/: a report's notification and its distribution as a mail program shows them.

``.venv/bin/python scripts/example_mails.py [OUTDIR]`` runs the relay of ``config/save-relay.example.toml``
in a scratch folder (SQLite, the demo network, outbound to a Maildir), posts a report from a demo
subscriber with a signature block and a phone photo carrying EXIF GPS, approves it by replying ``ok``
as a moderator, and writes what the moderator and a subscriber receive: the headers a mail program
shows, the text, and each attachment with the metadata it carries. Tokens and dates differ per run.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import io
import re
import sys
import tempfile
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
from PIL import ExifTags, Image

from save_relay.app import Relay
from save_relay.cli.demo import load_demo
from save_relay.core.settings import load_settings
from save_relay.store.db import session_factory

ROOT = Path(__file__).resolve().parent.parent
REPORTER = "security@metaalwerken-vos.example"
MODERATOR = "inspecteur.peeters@politie.lommel.be"
SUBSCRIBER = "planning@transport-vangorp.example"  # a neighbour in the same zone
NETWORK = "industrie@politie.lommel.be"
BODY = """Vannacht om 03:10 stond een witte bestelwagen (Ford Transit, Poolse plaat, deels leesbaar:
WX 4...) een half uur aan onze poort aan de Balendijk. Twee mannen hebben het hek aan de achterkant
geforceerd en ongeveer 200 kg koperkabel meegenomen. Foto van de camera aan de poort in bijlage.

Met vriendelijke groeten,

--
Jan Vos
Security manager Metaalwerken Vos NV
Balendijk 112, 3920 Lommel
+32 11 55 55 55
"""


def camera_jpeg() -> bytes:
    """A photo as a phone writes it: camera make and model, time taken, GPS position (Lommel)."""
    image = Image.new("RGB", (640, 480), (90, 110, 130))
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0132] = "Apple", "iPhone 15", "2026:11:24 03:10:00"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (51.0, 14.0, 22.0), "E", (5.0, 18.0, 36.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def report() -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Jan Vos <{REPORTER}>"
    message["To"] = NETWORK
    message["Subject"] = "Koperdiefstal, verdachte witte bestelwagen"
    message.set_content(BODY)
    message.add_attachment(camera_jpeg(), maintype="image", subtype="jpeg", filename="IMG_4711.jpg")
    return message


def metadata(data: bytes) -> str:
    """What a photo tells beyond its pixels: camera, time, GPS; or that it carries none."""
    with Image.open(io.BytesIO(data)) as image:
        exif = image.getexif()
        said = [f"{ExifTags.TAGS.get(tag, tag)}={value}" for tag, value in exif.items() if tag != 0x8825]
        if exif.get_ifd(0x8825):
            said.append("GPS position")
        size = f"{image.width}x{image.height}"
    return f"{size}, " + ("metadata: " + ", ".join(said) if said else "no metadata (no EXIF, no GPS)")


def shown(raw: bytes) -> str:
    """The mail as a mail program shows it: headers, the text, the attachments."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    lines = [f"{name}: {message[name]}" for name in ("From", "To", "Reply-To", "Subject") if message[name]]
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    lines += ["", text.rstrip(), ""]
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        kind = part.get_content_type()
        extra = f", {metadata(data)}" if kind.startswith("image/") else ""
        lines.append(f"[attachment: {part.get_filename()}, {kind}, {len(data):,} bytes{extra}]")
    return (
        re.sub(r"\+(confirm|followup|unsubscribe|bounces)-[a-z0-9]+@", r"+\1-TOKEN@", "\n".join(lines)) + "\n"
    )


def outbox(folder: Path) -> list[bytes]:
    return (
        [path.read_bytes() for path in sorted((folder / "new").glob("*"))]
        if (folder / "new").exists()
        else []
    )


async def wait(found: Callable[[], list[bytes]]) -> bytes:
    """The first mail ``found`` returns, polling the outbox for up to a minute."""
    for _ in range(300):
        mails = found()
        if mails:
            return mails[0]
        await asyncio.sleep(0.2)
    raise SystemExit("example_mails: the relay did not send the expected mail in time")


async def send(port: int, sender: str, message: EmailMessage) -> None:
    await aiosmtplib.send(message, hostname="127.0.0.1", port=port, sender=sender, recipients=[NETWORK])


async def example() -> tuple[bytes, bytes]:
    """The moderator's notification and a subscriber's copy of the example report."""
    with tempfile.TemporaryDirectory(prefix="save-relay-examples-") as tmp:
        box = Path(tmp) / "outbox"
        settings = load_settings(
            ROOT / "config/save-relay.example.toml",
            database={"url": f"sqlite+aiosqlite:///{Path(tmp) / 'relay.sqlite3'}"},
            smtp={"host": "127.0.0.1", "port": 0},
            http={"host": "127.0.0.1", "port": 0, "public_url": "https://relay.politie.lommel.be"},
            metrics={"enabled": False},
            outbound={"mode": "maildir", "maildir": str(box)},
        )
        relay = Relay(settings)
        await relay.start(migrate=True)
        try:
            assert relay.ctx is not None
            async with session_factory(relay.engine)() as session, session.begin():
                demo = settings.demo
                await load_demo(session, relay.ctx.networks["industrie"].id, demo.zones, demo.subscribers)
            await send(relay.smtp_port, REPORTER, report())

            def to(address: str, marker: str) -> list[bytes]:
                return [
                    m
                    for m in outbox(box)
                    if f"Delivered-To: {address}".encode() in m and marker.encode() in m
                ]

            notification = await wait(lambda: to(MODERATOR, "+confirm-"))
            parsed = email.message_from_bytes(notification, policy=email.policy.default)
            answer = EmailMessage()
            answer["From"], answer["To"] = MODERATOR, str(parsed["Reply-To"])
            answer["Subject"] = f"Re: {parsed['Subject']}"
            answer["In-Reply-To"] = str(parsed["Message-ID"])
            answer.set_content("ok\n")
            await aiosmtplib.send(
                answer,
                hostname="127.0.0.1",
                port=relay.smtp_port,
                sender=MODERATOR,
                recipients=[answer["To"]],
            )
            copy = await wait(lambda: to(SUBSCRIBER, "List-Unsubscribe"))
        finally:
            await relay.stop()
    return notification, copy


def main(out: Path) -> list[Path]:
    notification, copy = asyncio.run(example())
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, raw in (
        ("report", report().as_bytes()),
        ("notification", notification),
        ("distribution", copy),
    ):
        path = out / f"{name}.txt"
        path.write_text(shown(raw), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    paths = main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs/examples")
    print("written: " + ", ".join(str(p) for p in paths))
