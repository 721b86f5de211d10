"""TLP 2.0 labels (core/tlp.py): parsing as people type them, the order of strictness, the mail's label,
and the reply lines that set them (``tlp:``, ``ontvangers:``) and agree to a lower one."""

from __future__ import annotations

import pytest

from save_relay.core.safeguards import GroupSettings
from save_relay.core.settings import NetworkSettings
from save_relay.core.tlp import Label, body_with, find, parse, stricter, subject_with, without_tag
from save_relay.mail.commands import consent_given, parse_commands
from save_relay.mail.i18n import Reason


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("TLP:RED", Label.RED),
        ("tlp:red", Label.RED),
        ("TLP: amber", Label.AMBER),
        ("TLP:AMBER+STRICT", Label.AMBER_STRICT),
        ("tlp: Amber + Strict", Label.AMBER_STRICT),
        ("[TLP:GREEN]", Label.GREEN),
        ("green", Label.GREEN),
        ("AMBER+STRICT", Label.AMBER_STRICT),
        ("clear", Label.CLEAR),
        ("TLP:WHITE", Label.CLEAR),  # TLP 1.0's name
    ],
)
def test_parse_accepts_what_people_type(text: str, label: Label) -> None:
    assert parse(text) == label


@pytest.mark.parametrize("text", ["", "rood", "TLP:", "TLP:BLUE", "amber strict please", "TLP:REDACTED"])
def test_parse_refuses_anything_else(text: str) -> None:
    assert parse(text) is None


def test_strictness_order() -> None:
    order = [Label.CLEAR, Label.GREEN, Label.AMBER, Label.AMBER_STRICT, Label.RED]
    assert sorted(Label, key=lambda label: label.rank) == order
    assert Label.GREEN.less_strict_than(Label.AMBER)
    assert not Label.RED.less_strict_than(Label.AMBER_STRICT)
    assert stricter(Label.AMBER, Label.AMBER_STRICT) == Label.AMBER_STRICT
    assert stricter(Label.RED, Label.CLEAR) == Label.RED


def test_found_in_a_subject_or_line_and_taken_out() -> None:
    assert find("[TLP:GREEN] Witte bestelwagen") == Label.GREEN
    assert find("Witte bestelwagen (tlp: amber+strict)") == Label.AMBER_STRICT
    assert find("Witte bestelwagen aan de poort") is None
    assert find("TLP:REDACTED") is None
    assert without_tag("[TLP:GREEN] Witte bestelwagen") == "Witte bestelwagen"
    assert without_tag("Witte bestelwagen (TLP: amber+strict)") == "Witte bestelwagen"


def test_the_label_heads_subject_and_body_in_capitals_once() -> None:
    assert subject_with(Label.AMBER_STRICT, "[TLP:green] Witte bestelwagen") == (
        "[TLP:AMBER+STRICT] Witte bestelwagen"
    )
    assert body_with(Label.RED, "Tekst").splitlines()[0] == "TLP:RED"


def test_network_default_and_internal_groups() -> None:
    conf = NetworkSettings(
        address="industrie@politie.lommel.be",
        name="SaVE",
        moderators=["a@politie.lommel.be"],
        default_groups=["politie-ploegen"],
        groups={"bewaking": GroupSettings(internal=False), "recherche": GroupSettings(internal=True)},
        tlp="tlp: green",  # type: ignore[arg-type]
    )
    assert conf.tlp == Label.GREEN
    assert conf.internal_group("politie-ploegen")  # a default group: the police's own, unless listed
    assert conf.internal_group("recherche")
    assert not conf.internal_group("bewaking")
    assert not conf.internal_group("transport")  # not listed, not a default group: another organisation


def test_reply_lines_set_the_label_and_the_named_recipients() -> None:
    alone = parse_commands("tlp: red")
    assert alone.tlp == Label.RED and alone.action is None and alone.is_correction
    with_ok = parse_commands("ok\nTLP:AMBER+STRICT")
    assert with_ok.action == "approve" and with_ok.tlp == Label.AMBER_STRICT
    named = parse_commands("tlp: red\nontvangers: A@x.be, b@y.be en c@z.be")
    assert named.action == "approve" and named.recipients == ("a@x.be", "b@y.be", "c@z.be")
    for word in ("recipients", "destinataires", "Empfänger"):
        assert parse_commands(f"{word}: a@x.be").recipients == ("a@x.be",)


def test_bad_label_or_recipient_is_refused_with_its_reason() -> None:
    assert [r.code for r in parse_commands("ok\ntlp: rood").refusals] == [Reason.INVALID_TLP]
    bad = parse_commands("ontvangers: a@x.be, ploeg-a")
    assert [r.code for r in bad.refusals] == [Reason.INVALID_RECIPIENTS]
    assert parse_commands("tlp: red?").refusals  # a question decides nothing


@pytest.mark.parametrize("text", ["akkoord", "Akkoord.", "d'accord", "D’accord !", "agree", "Einverstanden!"])
def test_consent_words(text: str) -> None:
    assert consent_given(f"{text}\n\nMet vriendelijke groeten")


@pytest.mark.parametrize("text", ["", "nee", "niet akkoord", "ok?", "akkoord maar alleen voor de politie"])
def test_no_consent(text: str) -> None:
    assert not consent_given(text)
