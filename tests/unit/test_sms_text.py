"""SMS texts: GSM 03.38 and UCS-2 segmentation with concatenation headers, numbers, the urgent reply words."""

from __future__ import annotations

import pytest

from save_relay.core import gsm
from save_relay.core.phones import InvalidNumber, e164, shown
from save_relay.mail.commands import parse_commands
from save_relay.membership.csvfile import parse_subscribers, write_subscribers
from save_relay.moderation.urgent import compose


def test_160_gsm_characters_are_one_part_and_161_are_two_of_153() -> None:
    one = gsm.segment("a" * 160)
    assert one.encoding == gsm.GSM7 and len(one.parts) == 1 and one.esm_class == 0
    assert one.parts[0].payload == b"a" * 160  # unpacked septets, one per byte, no UDH
    two = gsm.segment("b" * 161, reference=7)
    assert [len(p.text) for p in two.parts] == [153, 8]
    assert two.esm_class == gsm.UDHI and two.data_coding == 0
    assert [p.payload[:6] for p in two.parts] == [bytes([5, 0, 3, 7, 2, 1]), bytes([5, 0, 3, 7, 2, 2])]


def test_extension_characters_count_two_and_are_never_split() -> None:
    assert gsm.length("€[]") == 6
    assert gsm.segment("€" * 80).parts[0].payload == b"\x1be" * 80  # 160 septets: still one part
    text = "a" * 152 + "€" + "c" * 10  # the € would straddle septets 153/154
    parts = gsm.segment(text).parts
    assert parts[0].text == "a" * 152 and parts[1].text.startswith("€")
    assert "".join(gsm.decode(p.payload, 0, True) for p in parts) == text
    for part in parts:
        assert len(part.payload) - 6 <= 153


def test_the_gsm_table_has_its_own_letters_in_place() -> None:
    assert gsm.segment("@£¡¿§é").parts[0].payload == bytes([0x00, 0x01, 0x40, 0x60, 0x5F, 0x05])
    assert (
        gsm.decode(gsm.segment("Oefening: één man, Ç").parts[0].payload, 0, False) == "Oefening: één man, Ç"
    )


def test_a_character_outside_gsm_makes_it_ucs2_of_70_or_67_units() -> None:
    assert gsm.encoding_of("Rue de l'Église, façade") == gsm.UCS2  # ç is not in the GSM table
    one = gsm.segment("ç" * 70)
    assert one.encoding == gsm.UCS2 and one.data_coding == 8 and len(one.parts) == 1
    assert one.parts[0].payload == "ç".encode("utf-16-be") * 70
    three = gsm.segment("ç" * 140)
    assert [len(p.text) for p in three.parts] == [67, 67, 6]
    assert len(gsm.segment("x" * 66 + "🚓" + "yy").parts) == 1  # 70 units: one part
    emoji = gsm.segment("x" * 66 + "🚓" + "y" * 5)  # 73 units; the pair at units 67/68 is not split
    assert [p.text for p in emoji.parts] == ["x" * 66, "🚓yyyyy"]
    assert "".join(gsm.decode(p.payload, 8, True) for p in emoji.parts) == "x" * 66 + "🚓yyyyy"


def test_typographic_quotes_stay_gsm_and_cut_keeps_words() -> None:
    assert gsm.encoding_of(gsm.plain("Het is ‘dringend’ – echt…")) == gsm.GSM7
    cut = gsm.cut("woord " * 40)
    assert gsm.fits(cut) and cut.endswith("...") and cut.startswith("woord woord")
    assert not cut[:-3].endswith(" ") and "woor..." not in cut
    assert gsm.fits(gsm.cut("ç" * 300, 2), 2)
    with pytest.raises(ValueError):
        gsm.segment("x" * 153 * 256)


def test_the_sms_text_is_reference_and_essence_with_the_exercise_word() -> None:
    text = compose(
        language="nl",
        reference="SAVE-2026-000042",
        essence="Koperdiefstal  Balendijk,\nwit busje",
        shown="x",
        exercise=True,
        max_parts=3,
    )
    assert text == "[OEFENING] SAVE-2026-000042: Koperdiefstal Balendijk, wit busje"
    preview = compose(
        language="fr", reference="R-1", essence=None, shown="mot " * 100, exercise=True, max_parts=3
    )
    assert preview.startswith("[EXERCICE] R-1: mot mot") and gsm.fits(preview) and preview.endswith("...")
    long = compose(
        language="en", reference="R-2", essence="word " * 200, shown="", exercise=False, max_parts=2
    )
    assert gsm.fits(long, 2) and not gsm.fits(long) and long.startswith("R-2: word")


def test_numbers_are_e164_from_national_or_international_writing() -> None:
    assert e164("0470 12 34 56") == "+32470123456"
    assert e164("+32 (0)470/12.34.56") == "+32470123456" or e164("+32 470 12 34 56") == "+32470123456"
    assert e164("0031 6 12345678") == "+31612345678"
    assert e164("06 12345678", "NL") == "+31612345678"
    assert shown("+32470123456") == "+32 470 12 34 56"
    for bad, reason in (("hello", "unreadable"), ("0470 12", "invalid"), ("011 12 34 56", "not_mobile")):
        with pytest.raises(InvalidNumber) as caught:
            e164(bad)
        assert caught.value.reason == reason and bad in str(caught.value)


def test_the_csv_sms_column_is_optional_and_each_bad_number_named() -> None:
    old = "company,addresses\nVos NV,a@vos.example\n"
    parsed = parse_subscribers(old, zones=(), groups=None, test_environment=True)
    assert parsed.rows[0].sms == () and not parsed.errors and "sms" not in parsed.columns
    text = (
        "company,addresses,sms\nVos NV,a@vos.example,0470 12 34 56; +31 6 12345678\n"
        "Bos BV,b@bos.example,0470 12\n"
    )
    parsed = parse_subscribers(text, zones=(), groups=None, test_environment=True)
    assert parsed.rows[0].sms == ("+32470123456", "+31612345678")
    [error] = parsed.errors
    assert str(error) == "line 3: invalid mobile number '0470 12'"
    assert "+32470123456;+31612345678" in write_subscribers(parsed.rows)


def test_dringend_approves_urgently_and_sms_gives_the_text() -> None:
    for word in ("dringend", "Urgent!", "urgence", "spoed"):
        command = parse_commands(word)
        assert command.action == "approve" and command.urgent and command.sms_text is None
    both = parse_commands("ok\nsms: Koperdiefstal  Balendijk, wit busje 1-ABC-123\n\nGroeten")
    assert both.urgent and both.sms_text == "Koperdiefstal Balendijk, wit busje 1-ABC-123"
    assert not parse_commands("ok").urgent
    assert parse_commands("niet dringend").action is None
    assert parse_commands("sms:").refusals and parse_commands("sms koper").refusals
    rejected = parse_commands("afwijzen geen misdrijf\ndringend")
    assert rejected.action == "reject" and not rejected.urgent
