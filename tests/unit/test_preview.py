"""The preview: the reporter's text without signature and identifying details, as subscribers get it."""

from __future__ import annotations

import time

import pytest

from save_relay.mail.i18n import Removed
from save_relay.mail.preview import KnownDetails, preview_text

VOS = KnownDetails(
    company="Metaalwerken Vos NV",
    contact="Jan Vos",
    street="Balendijk 112, 3920 Lommel",
    phones=("011 55 55 55",),
    addresses=("security@metaalwerken-vos.be",),
)
FACTS = "Vannacht om 03:15 stond een witte bestelwagen (2-XYZ-987) aan de poort. Twee mannen, donkere kledij."


def test_outlook_dutch_report_with_closing_and_signature() -> None:
    body = (
        "Goedemorgen,\r\n\r\n"
        f"{FACTS}\r\n"
        "Bel gerust Jan Vos op 0477 12 34 56 of mail jan.vos@metaalwerken-vos.be.\r\n\r\n"
        "Met vriendelijke groeten,\r\n\r\n"
        "Jan Vos\r\nSecurity manager\r\nMetaalwerken Vos NV\r\n+32 11 55 55 55\r\nwww.metaalwerken-vos.be\r\n"
    )
    preview = preview_text(
        body, display_name="Jan Vos", sender_address="security@metaalwerken-vos.be", known=VOS, language="nl"
    )
    assert preview.text == (
        f"Goedemorgen,\n\n{FACTS}\nBel gerust [verwijderd] op [verwijderd] of mail [verwijderd]."
    )
    signature = preview.removed[0]
    assert signature.kind is Removed.SIGNATURE and signature.text.startswith("Met vriendelijke groeten,")
    assert "+32 11 55 55 55" in signature.text and "Security manager" in signature.text
    assert [i.kind for i in preview.removed[1:]] == [Removed.NAME, Removed.EMAIL, Removed.PHONE]


def test_gmail_french_report_with_signature_delimiter() -> None:
    body = (
        "Bonjour,\n\nUne camionnette blanche immatriculée 1-ABC-123 rôdait près de l'entrée B le 24/11/2026"
        " vers 22h30.\nMontant du vol : 3.500 EUR de câbles en cuivre.\n\n"
        "-- \nMarie Dubois\nResponsable sécurité | Transports Dubois SA\n"
        "Tél. 011/55.55.55 | GSM 0477/12.34.56\n"
    )
    preview = preview_text(body, display_name="Marie Dubois", language="fr")
    assert preview.text == (
        "Bonjour,\n\nUne camionnette blanche immatriculée 1-ABC-123 rôdait près de l'entrée B le 24/11/2026"
        " vers 22h30.\nMontant du vol : 3.500 EUR de câbles en cuivre."
    )
    assert [i.kind for i in preview.removed] == [Removed.SIGNATURE]


def test_apple_mail_english_report_with_mobile_footer_and_regards() -> None:
    body = (
        "Hi,\n\nTwo men were cutting the fence at gate 4 at 02:10 (plate 2-XYZ-987).\n\n"
        "Kind regards,\nPeter Janssens\nFacility Manager, Logistics Park Lommel\nM +32 477 12 34 56\n\n"
        "Sent from my iPhone"
    )
    preview = preview_text(body, display_name="Peter Janssens", language="en")
    assert preview.text == "Hi,\n\nTwo men were cutting the fence at gate 4 at 02:10 (plate 2-XYZ-987)."
    assert [i.kind for i in preview.removed] == [Removed.MOBILE_FOOTER, Removed.SIGNATURE]


def test_german_closing_formula_and_footer() -> None:
    body = "Hallo,\n\nEin weißer Transporter stand um 23 Uhr am Tor.\n\n"
    body += "Mit freundlichen Grüßen\nKlaus Berger\n\n"
    body += "Von meinem iPhone gesendet"
    preview = preview_text(body, language="de")
    assert preview.text == "Hallo,\n\nEin weißer Transporter stand um 23 Uhr am Tor."


@pytest.mark.parametrize(
    "closing",
    ["Groeten,", "Mvg", "MVG,", "Groeten, Jan", "Bien à vous,", "Cordialement", "Best regards", "Grüße"],
)
def test_closing_formulas(closing: str) -> None:
    preview = preview_text(f"{FACTS}\n\n{closing}\nJan\nVos NV")
    assert preview.text == FACTS
    assert preview.removed[0].text.startswith(closing)


def test_outlook_signature_without_closing_starts_with_the_name() -> None:
    body = f"{FACTS}\n\nJan Vos\nSecurity manager\nMetaalwerken Vos NV | T 011 55 55 55"
    preview = preview_text(body, display_name="Jan Vos")
    assert preview.text == FACTS
    assert [i.kind for i in preview.removed] == [Removed.SIGNATURE]


def test_known_details_are_removed_inside_sentences() -> None:
    body = (
        "Bij Metaalwerken Vos (Balendijk 112) werd koper gestolen. Contact: VOS Jan, 011 / 55 55 55,"
        " security@metaalwerken-vos.be."
    )
    preview = preview_text(body, known=VOS, language="nl", sender_address="security@metaalwerken-vos.be")
    assert preview.text == (
        "Bij [verwijderd] ([verwijderd]) werd koper gestolen."
        " Contact: [verwijderd], [verwijderd], [verwijderd]."
    )
    assert {i.kind for i in preview.removed} == {
        Removed.COMPANY,
        Removed.STREET,
        Removed.NAME,
        Removed.PHONE,
        Removed.EMAIL,
    }


def test_a_street_without_its_number_is_a_place_and_stays() -> None:
    assert (
        preview_text("Verdachte wagen in de Balendijk.", known=VOS).text == "Verdachte wagen in de Balendijk."
    )


def test_only_the_senders_domain_not_other_addresses() -> None:
    body = "Info van wijkagent@politie.lommel.be en jan@metaalwerken-vos.be."
    assert preview_text(body, sender_address="x@metaalwerken-vos.be").text == (
        "Info van wijkagent@politie.lommel.be en [removed]."
    )
    # a free-mail sender: only their own known address, not everyone at gmail.com
    known = KnownDetails(addresses=("jan.vos@gmail.com",))
    text = preview_text(
        "Mail jan.vos@gmail.com of getuige@gmail.com", sender_address="jan.vos@gmail.com", known=known
    )
    assert text.text == "Mail [removed] of getuige@gmail.com"


@pytest.mark.parametrize(
    "phone",
    [
        "+32 11 55 55 55",
        "+32 (0)11 55 55 55",
        "0032 477 12 34 56",
        "011/55.55.55",
        "011 55 55 55",
        "0477 12 34 56",
        "0477/12.34.56",
        "0477123456",
        "+32477123456",
        "+33 6 12 34 56 78",
        "+49 30 1234567",
        "06 12 34 56 78",
    ],
)
def test_phone_numbers(phone: str) -> None:
    preview = preview_text(f"Bel {phone} na 18u.", language="en")
    assert preview.text == "Bel [removed] na 18u."
    assert [(i.kind, i.text) for i in preview.removed] == [(Removed.PHONE, phone)]


@pytest.mark.parametrize(
    "kept",
    [
        "Nummerplaat 2-XYZ-987, vorige keer 1-ABC-123.",
        "Om 03:15 en om 22u30; op 24/11/2026 en 01.12.2026 om 10 uur.",
        "Op 01/12/2026 22 uur nog eens gezien.",
        "Schade € 1.250,00, BTW 0,21; 12.500 EUR; 3 500 kg koper.",
        "Postcode 3920 Lommel, hal 12, poort 3.",
        "IBAN BE68 5390 0754 7034.",
        "Van 2026-11-24 tot 2026-11-30.",
        "Groeten van de ploeg aan iedereen die gisteren hielp, en nog een lange zin die gewoon doorgaat.\n"
        "Tweede alinea met meer uitleg over de feiten van gisteravond op het terrein achter hal 4.",
    ],
)
def test_not_phone_numbers_and_not_signatures(kept: str) -> None:
    preview = preview_text(kept)
    assert preview.text == kept and preview.removed == ()


def test_a_forwarded_chain_is_kept_but_scrubbed() -> None:
    body = (
        "Zie hieronder.\n\nGroeten,\nJan Vos\n\n-----Original Message-----\n"
        "From: Bewaking <wacht@metaalwerken-vos.be>\nSent: Monday, November 24, 2026 03:20\n"
        "To: Jan Vos <security@metaalwerken-vos.be>\nSubject: Poort 3\n\n"
        f"{FACTS}\nBel de wacht: 011 55 55 56\n"
    )
    preview = preview_text(body, display_name="Jan Vos", sender_address="security@metaalwerken-vos.be")
    assert preview.text.startswith("Zie hieronder.\n\n-----Original Message-----\n")
    assert FACTS in preview.text and "Bel de wacht: [removed]" in preview.text
    assert "Jan Vos" not in preview.text and "metaalwerken-vos.be" not in preview.text


@pytest.mark.parametrize(
    ("language", "marker"), [("nl", "[verwijderd]"), ("fr", "[supprimé]"), ("de", "[entfernt]")]
)
def test_marker_in_the_network_language(language: str, marker: str) -> None:
    assert preview_text("Bel 0477 12 34 56.", language=language).text == f"Bel {marker}."


def test_nothing_to_remove() -> None:
    preview = preview_text(f"{FACTS}\n", display_name="", known=KnownDetails())
    assert preview.text == FACTS and preview.removed == ()
    assert preview_text("").text == ""


@pytest.mark.parametrize(
    "hostile",
    [
        "0" * 200_000,
        "0 1 " * 50_000,
        "+32 " * 40_000,
        "a@b." * 40_000,
        "Groeten\n" * 30_000,
        "-- \n" * 50_000,
    ],
    ids=lambda s: repr(s[:8]),
)
def test_hostile_input_is_fast(hostile: str) -> None:
    start = time.perf_counter()
    preview_text(hostile, display_name="Jan Vos", known=VOS, sender_address="a@metaalwerken-vos.be")
    assert time.perf_counter() - start < 3.0
