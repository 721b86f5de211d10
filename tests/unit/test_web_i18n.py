"""Choosing the console's language from Accept-Language (pure)."""

from __future__ import annotations

import pytest

from save_relay.web.i18n import TEXTS, negotiate, texts
from save_relay.web.texts_pages import PAGE_TEXTS
from save_relay.web.texts_sms import SMS_TEXTS
from save_relay.web.texts_webhooks import WEBHOOK_TEXTS


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "nl"),
        ("", "nl"),
        ("fr", "fr"),
        ("fr-BE, nl-BE;q=0.9", "fr"),
        ("nl-BE;q=0.5, en;q=0.9", "en"),
        ("de, en;q=0.1", "en"),  # the first we speak, however low
        ("en;q=0, fr;q=0.2", "fr"),  # q=0 refuses
        ("*", "nl"),
        ("en;q=abc, fr", "fr"),  # a malformed entry is skipped
        ("EN-us", "en"),
        ("en;q=1, fr;q=1", "en"),  # ties keep the header's order
        ("x" * 5000, "nl"),
    ],
)
def test_negotiate(header: str | None, language: str) -> None:
    assert negotiate(header) == language


def test_every_language_has_every_text() -> None:
    assert {lang: set(t) for lang, t in TEXTS.items()} == {lang: set(TEXTS["nl"]) for lang in TEXTS}
    assert {lang: set(t) for lang, t in PAGE_TEXTS.items()} == {lang: set(PAGE_TEXTS["nl"]) for lang in TEXTS}
    assert {lang: set(t) for lang, t in WEBHOOK_TEXTS.items()} == {
        lang: set(WEBHOOK_TEXTS["nl"]) for lang in TEXTS
    }
    assert {lang: set(t) for lang, t in SMS_TEXTS.items()} == {lang: set(SMS_TEXTS["nl"]) for lang in TEXTS}
    assert not set(TEXTS["nl"]) & set(PAGE_TEXTS["nl"])  # a key in both would hide one of them
    assert not (set(TEXTS["nl"]) | set(PAGE_TEXTS["nl"])) & set(WEBHOOK_TEXTS["nl"])
    assert not (set(TEXTS["nl"]) | set(PAGE_TEXTS["nl"]) | set(WEBHOOK_TEXTS["nl"])) & set(SMS_TEXTS["nl"])
    assert texts("xx") == {**TEXTS["nl"], **PAGE_TEXTS["nl"], **WEBHOOK_TEXTS["nl"], **SMS_TEXTS["nl"]}
