"""Every mail template renders in every language with a representative context, strictly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jinja2 import UndefinedError

from save_relay.core.resources import templates_dir
from save_relay.mail.compose import LANGUAGES, environment, render
from save_relay.mail.i18n import LANGUAGES as I18N_LANGUAGES
from save_relay.mail.i18n import reply_marker

TEMPLATES = sorted(p.stem for p in (templates_dir() / "en").glob("*.txt"))

ANSWER = {
    "id": 7,
    "company": "Metaalwerken Vos NV",
    "address": "security@metaalwerken-vos.example",
    "sender": "jan@metaalwerken-vos.example",
    "distance_m": 412.5,
    "received": "24/11/2026 10:12",
    "late": True,
    "text": "Camera 2 zag om 03:10 een witte bestelwagen.",
    "attachments": [
        {"name": "cam2.jpg", "content_type": "image/jpeg", "size": 81234, "n": 1},
        {"name": "video.mp4", "content_type": "video/mp4", "size": 91234567, "n": 2},
    ],
}


def context(**overrides: Any) -> dict[str, Any]:
    """One context with every variable any template uses, filled as the code fills it."""
    values: dict[str, Any] = {
        "network_name": "SaVE Lommel",
        "network_address": "industrie@politie.lommel.be",
        "request_address": "industrie+request@politie.lommel.be",
        "reply_marker": reply_marker("nl"),
        "reference": "SAVE-2026-000123",
        "subject": "Witte bestelwagen aan poort 3",
        "sender": "Jan Vos <security@metaalwerken-vos.example>",
        "subscriber": "Metaalwerken Vos NV",
        "received": "24/11/2026 03:20",
        "proposed_zones": ["Kolonel Dusart"],
        "default_groups": ["politie-ploegen"],
        "known_zones": ["Kolonel Dusart", "Balendijk"],
        "known_groups": ["politie-ploegen", "transport"],
        "attachments": [
            {
                "position": 1,
                "filename": "poort.jpg",
                "content_type": "image/jpeg",
                "size": 120034,
                "status": "cleaned",
                "data": b"jpeg",
            }
        ],
        "defects": ["invalid From"],
        "repeat_of": "SAVE-2026-000122",
        "repeat_received": "2026-11-24 03:05",
        "text": "Vannacht om 03:15 stond een witte bestelwagen (2-XYZ-987) aan poort 3.",
        "expires": "8/12/2026",
        "preview": "Vannacht om 03:15 stond een witte bestelwagen (2-XYZ-987) aan poort 3.",
        "removed": ["handtekening: Jan Vos", "poort.jpg: GPS-positie"],
        "attached_positions": [1],
        "category": "verdacht voertuig",
        "incident_time": "2026-11-24 03:15",
        "incident_from_text": True,
        "incident_place": "Metaalwerken Vos NV",
        "month": "2026-11",
        "moderators": True,
        "moderator_count": 3,
        "exercise_word": "OEFENING",
        "webhooks": True,
        "charts": ["heatmap-2026-11.png", "months-2026-11.png"],
        "sections": [
            {
                "title": "SaVE Lommel",
                "total": 12,
                "categories": [("koperdiefstal", 7), ("inbraak", 5)],
                "zones": [("Maatheide", 9)],
                "weekdays": [("ma", " 0" * 24)] * 7,
                "hours": " ".join(f"{h:02d}" for h in range(24)),
                "companies": [("Metaalwerken Vos NV", 4)],
                "decided": 10,
                "p50": "2",
                "p90": "9",
                "distributions": 8,
                "recipients": 640,
            }
        ],
        "incident": {
            "category": "koperdiefstal",
            "time": "2026-11-21 03:00",
            "place": "Metaalwerken Vos NV (51.23988, 5.28620)",
            "exercise": True,
        },
        "reason": "dubbel gemeld",
        "action": "approve",
        "recipients": 412,
        "zones": ["Kolonel Dusart", "Balendijk"],
        "groups": ["politie-ploegen"],
        "edited": True,
        "credit": True,
        "credited": "Metaalwerken Vos NV",
        "hours": 24,
        "days": 14,
        "address": "security@metaalwerken-vos.example",
        "company": "Metaalwerken Vos NV",
        "role": "subscriber",  # of a follow-up's sender: reporter, subscriber, other
        "sent_to": "info@metaalwerken-vos.example",
        "files": 1,
        "contact": "Jan Vos",
        "street": "Balendijk 112, 3920 Lommel",
        "location": "51.23988, 5.28620",
        "missing": ["company", "location"],
        "problems": ["location 'Lommel' is not 'latitude, longitude' in degrees"],
        "status": "waiting",
        "understood": False,
        "score": 5.5,
        "threshold": 5.0,
        "diagnostic": "550 5.1.1 no such user",
        "count": 2,
        "events": [
            {"at": "24/11 10:00", "address": "a@b.example", "event": "unsubscribed", "via": "mail"},
            {"at": "24/11 11:00", "address": "c@d.example", "event": "disabled", "via": "bounces"},
        ],
        "canvass_id": 9,
        "title": "Diefstal koperkabels Balendijk",
        "question": "Heeft u tussen 02:00 en 04:00 iets gezien?",
        "place": "Balendijk 112",
        "radius": "1.5 km",
        "window": "24/11/2026 02:00–04:00",
        "send": "24/11/2026 09:00",
        "send_now": False,
        "remind": "25/11/2026 09:00",
        "close": "27/11/2026 09:00",
        "by": "jan.peeters@politie.lommel.be",
        "at": "2026-11-24 09:12",
        "answers": [ANSWER, {**ANSWER, "id": 8, "late": False, "distance_m": None, "text": ""}],
        "label": "TLP:AMBER",
        "floor": "TLP:AMBER",
        "wanted": "TLP:GREEN",
        "tlp": "RED",
        "named": ["ploeg.a@politie.lommel.example"],
        "first_by": "inspecteur.peeters@politie.lommel.be",
        "first_at": "2026-11-24 09:12",
        "reasons": ["recipients", "tlp_red"],
        "limit": 500,
        "kind": "distribution",
        "step": "request",  # four-eyes of a canvass or an erasure: request, approved, lapsed
        "waiting": False,
        "companies": 42,
        "second_by": "commissaris.janssens@politie.lommel.be",
        "owner": "inspecteur.peeters@politie.lommel.be",
        "ref": "3f9a0c1d2e4b",
        "attached": ["cam2.jpg"],
        "rate": "33%",
        "summary": {
            "responses": 2,
            "recipients": 6,
            "addresses": 7,
            "answers": [ANSWER],
            "silent": [
                {"company": "Transport Lommel", "addresses": ["info@tl.example"], "distance_m": 820.0}
            ],
        },
    }
    return values | overrides


def test_every_language_has_a_folder_and_i18n_agrees() -> None:
    assert set(LANGUAGES) == set(I18N_LANGUAGES) == {p.name for p in templates_dir().iterdir() if p.is_dir()}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_has_every_template(language: str) -> None:
    assert sorted(p.stem for p in (templates_dir() / language).glob("*.txt")) == TEMPLATES


@pytest.mark.parametrize("name", TEMPLATES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_template_renders_in_every_language(language: str, name: str) -> None:
    rendered = render(language, name, context())
    assert rendered.subject and rendered.body.strip()
    assert (
        "{{" not in rendered.body
        and "{%" not in rendered.body
        and "SaVE Lommel" in rendered.subject + rendered.body
    )


@pytest.mark.parametrize("name", TEMPLATES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_branch_renders_too(language: str, name: str) -> None:
    """The other side of each condition (reject, send now, nothing given, ...) renders as well."""
    for overrides in (
        {"action": "reject", "send_now": True, "understood": True, "status": "already"},
        {
            "status": "cancelled",
            "zones": [],
            "place": "",
            "proposed_zones": [],
            "attachments": [],
            "defects": [],
            "repeat_of": None,
        },
        {"status": "not_subscribed", "reason": "", "reference": "", "missing": [], "credited": ""},
        {"status": "rejected", "known_zones": [], "known_groups": []},
        {"action": "update", "incident": {"exercise": False}, "moderators": False, "role": "reporter"},
        {"role": "other", "company": None, "sent_to": None, "files": 0, "text": ""},
        {"action": "update", "incident": {"exercise": False}, "moderators": False, "kind": "hold_release"},
        {"incident": {}},
        {"step": "approved", "waiting": True},
        {"step": "lapsed", "send_now": True},
    ):
        render(language, name, context(**overrides))


@pytest.mark.parametrize("name", TEMPLATES)
def test_a_missing_variable_fails(name: str) -> None:
    """StrictUndefined: a template that uses a variable the context lacks raises instead of printing ''."""
    source = (templates_dir() / "en" / f"{name}.txt").read_text()
    if "network_name" not in source:
        pytest.skip("template without network_name")
    with pytest.raises(UndefinedError):
        environment().get_template(f"en/{name}.txt").render(
            **{**context(), "network_name": environment().undefined()}
        )


@pytest.mark.parametrize("language", LANGUAGES)
def test_unsubscribed_points_to_the_request_address_not_the_network_address(language: str) -> None:
    body = render(language, "unsubscribed", context()).body
    assert "industrie+request@politie.lommel.be" in body
    assert "industrie@politie.lommel.be" not in body  # mailing it would create a report


@pytest.mark.parametrize("language", LANGUAGES)
def test_welcome_does_not_send_people_to_the_bottom_of_the_message(language: str) -> None:
    body = render(language, "subscription_welcome", context()).body.lower()
    assert not any(word in body for word in ("bottom", "onderaan", "au bas", "unten"))
    assert "industrie+request@politie.lommel.be" in body


@pytest.mark.parametrize(
    ("language", "fields"),
    [
        ("nl", "bedrijf, locatie"),
        ("fr", "entreprise, lieu"),
        ("en", "company, location"),
        ("de", "Firma, Ort"),
    ],
)
def test_missing_fields_are_named_in_the_language(language: str, fields: str) -> None:
    assert fields in render(language, "subscribe_confirm", context()).body


def test_without_request_address_the_default_delimiter_is_assumed() -> None:
    """Until the caller passes ``request_address`` (see the wiring notes), the templates derive it."""
    ctx = context()
    del ctx["request_address"]
    assert "industrie+request@politie.lommel.be" in render("nl", "unsubscribed", ctx).body


def test_the_distribution_says_where_the_unsubscribe_link_is() -> None:
    # the welcome mail now says "in the header": check that the distribution body indeed has none
    for language in LANGUAGES:
        body = render(language, "distribution", context()).body
        assert "http" not in body and "unsubscribe-" not in body


def test_templates_folder_is_shipped() -> None:
    assert Path(templates_dir(), "de", "notification.txt").is_file()
