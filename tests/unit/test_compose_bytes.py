"""``text_message_bytes`` writes the very bytes ``as_bytes(build_message(...))`` does, faster."""

from __future__ import annotations

import email.policy
import re
from email.parser import BytesParser
from typing import Any

import pytest

from save_relay.mail.compose import Rendered, as_bytes, build_message, text_message_bytes

DATE = re.compile(rb"^Date: [^\r]*\r\n", re.MULTILINE)
BASE: dict[str, Any] = {
    "sender": '"SaVE Lommel" <industrie@politie.lommel.be>',
    "to": "inspecteur.peeters@politie.lommel.be",
    "domain": "politie.lommel.be",
    "reply_to": "industrie+confirm-abcdefghijklmnopqrstuvwxyz@politie.lommel.be",
    "in_reply_to": "melding-1@metaalwerken-vos.example",
    "extra_headers": [
        ("Message-ID", "<173.1.2@politie.lommel.be>"),
        ("Auto-Submitted", "auto-generated"),
        ("X-Save-Relay-Reference", "SAVE-2026-000001"),
    ],
}
CASES: list[dict[str, Any]] = [
    {"rendered": Rendered("Nieuwe melding SAVE-2026-000001: Verdacht voertuig", "Hallo,\nregel twee\n")},
    {"rendered": Rendered("Melding: café é ë " * 8, "é = ë  \n" + "x" * 1200 + "\n\n\tlaatste\t\n")},
    {"rendered": Rendered("  spaties   en =?utf-8?q?x?= ", ""), "to": "Jan J. Vos <jan@vos.example>"},
    {"rendered": Rendered("x", "a\r\nb\rc\nno newline"), "to": None, "reply_to": '"Françoise" <f@x.be>'},
    {"rendered": Rendered("(comment) <not> an, address", "."), "in_reply_to": None, "reply_to": None},
    {"rendered": Rendered("y", "z\n"), "to": "a@b.example, c@d.example", "in_reply_to": "<a b@c>"},
]


@pytest.mark.parametrize("case", CASES)
def test_same_bytes_as_the_email_package(case: dict[str, Any]) -> None:
    fields = {**BASE, **case}
    fast = text_message_bytes(**fields)
    slow = as_bytes(build_message(**fields))
    assert DATE.sub(b"", fast) == DATE.sub(b"", slow)
    assert len(DATE.findall(fast)) == 1
    parsed = BytesParser(policy=email.policy.default).parsebytes(fast)
    assert parsed.get_content().splitlines() == (fields["rendered"].body.splitlines() or [""])


def test_header_injection_is_refused() -> None:
    with pytest.raises(ValueError, match="line-breaking"):
        text_message_bytes(**{**BASE, "rendered": Rendered("a\r\nBcc: x@y", "body")})
