"""The message catalogue: every reason, field, marker and removed kind exists in every language."""

from __future__ import annotations

import pytest

from save_relay.mail import i18n
from save_relay.mail.commands import REPLY_MARKERS, visible_reply
from save_relay.mail.i18n import LANGUAGES, Reason, Refusal, Removed

#: One representative set of parameters per reason code; a new code without an entry fails here.
PARAMS: dict[Reason, dict[str, i18n.ParamValue]] = {
    Reason.EMPTY_REPLY: {},
    Reason.UNKNOWN_COMMAND: {"text": "aprove"},
    Reason.UNKNOWN_FIELD: {"name": "kleur"},
    Reason.QUESTION: {"text": "ok?"},
    Reason.NEGATION: {"text": "niet ok"},
    Reason.BARE_NO: {"word": "nee"},
    Reason.BOTH_APPROVE_AND_REJECT: {},
    Reason.EDIT_WITHOUT_TEXT: {},
    Reason.EMPTY_LIST: {"field": "zones"},
    Reason.TOO_MANY_ITEMS: {"field": "groups", "limit": 100},
    Reason.NOT_ALLOWED: {"command": "withdraw"},
    Reason.INVALID_LOCATION: {"value": "Lommel"},
    Reason.MISSING_DETAILS: {"fields": ("company", "location")},
    Reason.UNKNOWN_TOKEN: {},
    Reason.OTHER_MODERATOR: {},
    Reason.NOT_MODERATOR: {},
    Reason.TOKEN_EXPIRED: {},
    Reason.ALREADY_DECIDED: {
        "reference": "SAVE-2026-000123",
        "by": "jan@politie.test",
        "at": "2026-11-21 09:14",
    },
    Reason.REPORT_GONE: {},
    Reason.OTHER_REFERENCE: {"reference": "SAVE-2026-000123", "named": "SAVE-2026-000124"},
    Reason.AUTOMATIC: {},
    Reason.UNKNOWN_ZONES: {"names": "Kolonel Dusart, Maan"},
    Reason.UNKNOWN_GROUPS: {"names": "nachtploeg"},
    Reason.NO_TARGETS: {},
    Reason.WITHDRAWN: {"reference": "SAVE-2026-000123", "at": "2026-11-21 09:14"},
    Reason.NOT_REPORTER: {},
    Reason.WITHDRAW_TOO_LATE: {"reference": "SAVE-2026-000123"},
    Reason.UNKNOWN_FOLLOWUP: {"address": "industrie@politie.lommel.be"},
    Reason.EMPTY_VALUE: {"field": "time"},
    Reason.INVALID_YES_NO: {"field": "exercise", "value": "misschien"},
    Reason.UNKNOWN_CATEGORY: {"value": "sprookje", "known": "koperdiefstal, inbraak"},
    Reason.INVALID_TIME: {"value": "morgen"},
    Reason.UNKNOWN_PLACE: {"value": "Atlantis"},
    Reason.AMBIGUOUS_PLACE: {"value": "Vos", "names": "Vos NV, Vos BV"},
    Reason.INVALID_TLP: {"value": "rood"},
    Reason.TLP_CONSENT_ASKED: {"label": "GREEN", "floor": "AMBER"},
    Reason.TLP_NO_CONSENT: {"label": "CLEAR", "floor": "RED"},
    Reason.RED_NEEDS_RECIPIENTS: {},
    Reason.RED_NO_ZONES: {},
    Reason.RECIPIENTS_ONLY_RED: {},
    Reason.INVALID_RECIPIENTS: {"names": "ploeg-a"},
    Reason.STRICT_EXTERNAL_GROUPS: {"names": "bewaking-securitas"},
    Reason.SAME_MODERATOR: {"reference": "SAVE-2026-000123", "by": "jan@politie.test"},
    Reason.NO_LOCATION: {"company": "Staal Noord NV"},
    Reason.CANVASS_NOT_SCHEDULED: {"number": 7, "status": "sent"},
}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("code", list(Reason))
def test_every_reason_renders_in_every_language(code: Reason, language: str) -> None:
    text = i18n.reason_text(Refusal.of(code, **PARAMS[code]), language)
    assert text and "{" not in text and "}" not in text
    for name, value in PARAMS[code].items():  # keys (field, fields, command) are translated
        expected = value if name not in ("field", "fields", "command") else None
        assert expected is None or str(expected) in text


def test_catalogues_have_the_same_keys() -> None:
    for language in LANGUAGES:
        assert set(i18n.REASONS[language]) == set(Reason)
        assert set(i18n.REMOVED_KINDS[language]) == set(Removed)
        assert set(i18n.FIELD_NAMES[language]) == set(i18n.FIELD_NAMES["en"])
        assert set(i18n.COMMAND_NAMES[language]) == set(i18n.COMMAND_NAMES["en"])
        assert i18n.REPLY_MARKER[language] and i18n.REMOVED_MARKER[language]


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("nl", "nog nodig: bedrijf, locatie"),
        ("fr", "encore nécessaire : entreprise, lieu"),
        ("en", "still needed: company, location"),
        ("de", "noch nötig: Firma, Ort"),
    ],
)
def test_field_names_are_translated_inside_reasons(language: str, expected: str) -> None:
    refusal = Refusal.of(Reason.MISSING_DETAILS, fields=("company", "location"))
    assert i18n.reason_text(refusal, language) == expected


def test_no_english_inside_a_dutch_reason() -> None:
    refusals = (Refusal.of(Reason.UNKNOWN_FIELD, name="kleur"), Refusal.of(Reason.EMPTY_LIST, field="groups"))
    assert i18n.reasons_text(refusals, "nl") == "onbekend veld 'kleur'; groepen: niets opgegeven"
    assert i18n.reason_text(Refusal.of(Reason.NOT_ALLOWED, command="withdraw"), "de") == (
        "„zurückziehen“ ist hier nicht erlaubt"
    )


@pytest.mark.parametrize(
    ("given", "language"),
    [("nl", "nl"), ("NL-be", "nl"), ("fr_BE", "fr"), ("de", "de"), ("es", "en"), ("", "en"), (None, "en")],
)
def test_language_of(given: str | None, language: str) -> None:
    assert i18n.language_of(given) == language


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_parser_knows_every_reply_marker(language: str) -> None:
    marker = i18n.reply_marker(language)
    assert marker in REPLY_MARKERS
    assert visible_reply(f"ok\n\n{marker}\nNieuwe melding SAVE-2026-000001") == "ok"
    assert visible_reply(f"ok\n\n> {marker}\n> Nieuwe melding") == "ok"


def test_markers_and_kinds_per_language() -> None:
    assert [i18n.removed_marker(lang) for lang in LANGUAGES] == [
        "[verwijderd]",
        "[supprimé]",
        "[removed]",
        "[entfernt]",
    ]
    assert i18n.removed_kind(Removed.PHONE, "nl") == "telefoonnummer"
    assert i18n.field_name("company", "de") == "Firma" and i18n.field_name("unknown", "nl") == "unknown"
