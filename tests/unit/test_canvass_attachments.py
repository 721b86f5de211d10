"""``canvass.attachments.extract``: what counts as an attachment, and a plain answer is not parsed."""

from __future__ import annotations

import pytest

from save_relay.mail import attachments
from save_relay.mail.attachments import extract

HEAD = b"From: a@example.org\r\nTo: industrie+reply-x@politie.lommel.be\r\nSubject: Re: vraag\r\n"
PLAIN = HEAD + b"Content-Type: text/plain; charset=UTF-8\r\n\r\nNiets gezien.\r\n\r\n> Wie zag iets?\r\n"


def _mixed(part_headers: bytes) -> bytes:
    return (
        HEAD + b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nZie bijlage.\r\n"
        b"--b\r\n" + part_headers + b"Content-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--b--\r\n"
    )


def test_a_plain_answer_is_not_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[object] = []
    monkeypatch.setattr(attachments, "BytesParser", lambda **kwargs: parsed.append(kwargs))
    assert extract(PLAIN) == [] and parsed == []


@pytest.mark.parametrize(
    ("headers", "filename"),
    [
        (b'Content-Type: image/jpeg\r\nContent-Disposition: attachment; filename="cam.jpg"\r\n', "cam.jpg"),
        (b'Content-Type: image/jpeg; NAME="still.jpg"\r\n', "still.jpg"),  # a file name in Content-Type only
        (b"Content-Type: application/octet-stream\r\nContent-Disposition: ATTACHMENT\r\n", "attachment-1"),
        (
            b"Content-Type: image/png\r\nContent-Disposition: inline; filename*=UTF-8''z%C3%BCid.png\r\n",
            "züid.png",
        ),
    ],
)
def test_every_kind_of_attachment_is_still_found(headers: bytes, filename: str) -> None:
    [found] = extract(_mixed(headers))
    assert (found.filename, found.data) == (filename, b"\x00\x01\x02")


def test_the_word_alone_costs_a_parse_but_finds_nothing() -> None:
    assert extract(PLAIN.replace(b"Niets gezien.", b"Geen attachment, geen filename.")) == []
