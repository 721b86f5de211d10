"""Choosing the console's language from Accept-Language (pure)."""

from __future__ import annotations

import pytest

from save_relay.core.problems import ENGLISH
from save_relay.web.i18n import TEXTS, negotiate, texts
from save_relay.web.problem_texts import PROBLEM_TEXTS
from save_relay.web.texts_changes import CHANGE_TEXTS
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
    assert {lang: set(t) for lang, t in CHANGE_TEXTS.items()} == {
        lang: set(CHANGE_TEXTS["nl"]) for lang in TEXTS
    }
    assert not set(TEXTS["nl"]) & set(PAGE_TEXTS["nl"])  # a key in both would hide one of them
    others = (WEBHOOK_TEXTS["nl"], SMS_TEXTS["nl"], CHANGE_TEXTS["nl"])
    seen = set(TEXTS["nl"]) | set(PAGE_TEXTS["nl"])
    for more in others:
        assert not seen & set(more)
        seen |= set(more)
    assert texts("xx") == {
        **TEXTS["nl"],
        **PAGE_TEXTS["nl"],
        **WEBHOOK_TEXTS["nl"],
        **SMS_TEXTS["nl"],
        **CHANGE_TEXTS["nl"],
    }


def test_every_problem_code_is_translated() -> None:
    """Every CSV and GeoJSON problem has its Dutch and French words (German may fall back to English)."""
    for language in ("nl", "fr"):
        assert set(PROBLEM_TEXTS[language]) == set(ENGLISH), language
    for language, words in PROBLEM_TEXTS.items():
        assert set(words) <= set(ENGLISH), language
        for code, text in words.items():
            params = {name: "x" for name in ("names", "expected", "limit", "found", "detail", "company")}
            params |= {name: "x" for name in ("first", "field", "value", "address", "lon", "lat", "pattern")}
            params |= {"other": 1, "kinds": "x", "chain": "x", "feature": 1, "slug": "x", "line": 2}
            params |= {"at_field": "send"}
            assert text.format_map(params), (language, code)
