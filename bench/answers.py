"""Subscribers' answers to a canvass question, as a mail program writes a reply.

``Re:`` subject, In-Reply-To and References, the answer on top and the question quoted below it,
8-bit UTF-8 text; every ``ATTACH_EVERY``-th carries a small JPEG (base64, multipart/mixed) and every
``COLLEAGUE_EVERY``-th is sent by a colleague from another address of the same company. Written as
raw bytes from one parsed question: building 2,000 ``EmailMessage`` objects took seconds.
"""

from __future__ import annotations

import base64
import email.policy
import random
from dataclasses import dataclass
from email.header import Header
from email.parser import BytesParser

ATTACH_EVERY = 10
COLLEAGUE_EVERY = 20
TEXTS = (
    "Niets gezien.",
    "Niets gezien, onze camera's filmen alleen de parking.",
    "Camera 2 zag om 02:41 een witte bestelwagen richting Balendijk, zie de bijlage.",
    "Onze nachtwaker herinnert zich een bestelwagen rond 03:00, nummerplaat niet gezien.",
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + random.Random(7).randbytes(6_000) + b"\xff\xd9"
_JPEG_BASE64 = base64.encodebytes(JPEG).replace(b"\n", b"\r\n")


@dataclass(frozen=True, slots=True)
class Question:
    """A question as it reached one recipient."""

    address: str
    reply_to: str
    message_id: str


@dataclass(frozen=True, slots=True)
class Answer:
    mail_from: str
    rcpt: str  # the question's Reply-To
    data: bytes
    attached: bool


class Replies:
    """Writes answers quoting one question (all recipients got the same text)."""

    def __init__(self, sample: bytes) -> None:
        original = BytesParser(policy=email.policy.default).parsebytes(sample)
        body = original.get_body(preferencelist=("plain",))
        assert body is not None
        text = str(body.get_content())
        subject = f"Re: {original['Subject']}"
        self.subject = subject if subject.isascii() else Header(subject, "utf-8").encode()
        self.quote = (
            f"Op 21-11-2026 om 08:02 schreef {original['From']}:\r\n"
            + "\r\n".join(f"> {line}" if line else ">" for line in text.splitlines())
            + "\r\n"
        )

    def answer(self, i: int, question: Question) -> Answer:
        rng = random.Random(i)
        sender = question.address
        if i % COLLEAGUE_EVERY == COLLEAGUE_EVERY - 1:
            sender = f"beveiliging.{i}@{question.address.split('@')[1]}"
        text = f"{rng.choice(TEXTS)}\r\n\r\nMet vriendelijke groeten,\r\nContact {i}\r\n\r\n{self.quote}"
        head = (
            f"From: Contact {i} <{sender}>\r\nTo: {question.reply_to}\r\nSubject: {self.subject}\r\n"
            f"Date: Sat, 21 Nov 2026 09:14:00 +0100\r\n"
            f"Message-ID: <answer-{i}.{rng.randrange(10**9)}@{sender.split('@')[1]}>\r\n"
            f"In-Reply-To: {question.message_id}\r\nReferences: {question.message_id}\r\n"
            "User-Agent: Mozilla Thunderbird\r\nMIME-Version: 1.0\r\n"
        )
        plain = (
            "Content-Type: text/plain; charset=UTF-8; format=flowed\r\nContent-Transfer-Encoding: 8bit\r\n"
        )
        attached = i % ATTACH_EVERY == 0
        if not attached:
            return Answer(sender, question.reply_to, f"{head}{plain}\r\n{text}".encode(), False)
        boundary = f"------------bench{i:08d}"
        data = (
            (
                f'{head}Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
                f"This is a multi-part message in MIME format.\r\n--{boundary}\r\n{plain}\r\n{text}\r\n"
                f'--{boundary}\r\nContent-Type: image/jpeg; name="camera-{i}.jpg"\r\n'
                f'Content-Disposition: attachment; filename="camera-{i}.jpg"\r\n'
                "Content-Transfer-Encoding: base64\r\n\r\n"
            ).encode()
            + _JPEG_BASE64
            + f"--{boundary}--\r\n".encode()
        )
        return Answer(sender, question.reply_to, data, True)


def answers(asked: list[Question], m: int, sample: bytes) -> list[Answer]:
    """``m`` answers from a seeded choice of the recipients, quoting the question ``sample``."""
    replies = Replies(sample)
    chosen = random.Random(len(asked)).sample(asked, m)
    return [replies.answer(i, question) for i, question in enumerate(chosen)]
