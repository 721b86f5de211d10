"""Tests for save_relay.core.addresses: strict mailbox parsing, normalisation and header safety."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from save_relay.core.addresses import (
    Mailbox,
    header_safe,
    is_mailer_daemon,
    normalize_address,
    parse_mailbox,
    sanitize_header_text,
    split_subaddress,
)

ALICE = "alice@example.org"
BOB = "bob@example.com"

# --- normalize_address -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given_addr", "expected"),
    [
        ("alice@example.org", "alice@example.org"),
        ("Alice.Smith@EXAMPLE.ORG", "Alice.Smith@example.org"),  # local part kept, domain lowercased
        ("industrie+confirm-abc@politie.lommel.be", "industrie+confirm-abc@politie.lommel.be"),
        ("jörg@Bücher.DE", "jörg@bücher.de"),
        ("a@xn--bcher-kva.de", "a@bücher.de"),  # IDNA-normalised
        ("x_y-z.1@sub.example.co.uk", "x_y-z.1@sub.example.co.uk"),
    ],
)
def test_normalize_address_accepts(given_addr: str, expected: str) -> None:
    assert normalize_address(given_addr) == expected


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "alice",
        "@example.org",
        "alice@",
        "alice@@example.org",
        "alice@example.org@evil.example",
        "alice @example.org",
        "alice@example.org\r\n",
        "alice@example.org\nBcc: x@example.org",
        "ali\x00ce@example.org",
        "alice\t@example.org",
        "<alice@example.org>",
        "Alice <alice@example.org>",
        '"alice smith"@example.org',  # quoted local parts are refused by email_validator's defaults
        '"a@b"@example.org',
        "alice@[127.0.0.1]",  # domain literal
        "alice@localhost",
        "alice@corp.local",
        "alice@example.invalid",
        "alice@example.test",  # only with test_environment=True
        "alice@example",  # no dot
        "alice@exa_mple.org",
        "alice..smith@example.org",
        "x" * 250 + "@example.org",  # longer than 254 characters
        "a@" + "b" * 330 + ".org",
    ],
)
def test_normalize_address_rejects(bad: str) -> None:
    assert normalize_address(bad) is None


def test_normalize_address_test_environment_allows_dot_test() -> None:
    assert normalize_address("alice@example.test", test_environment=True) == "alice@example.test"
    assert normalize_address("alice@localhost", test_environment=True) is None


def test_normalize_address_non_str_is_none() -> None:
    assert normalize_address(None) is None  # type: ignore[arg-type]
    assert normalize_address(b"a@example.org") is None  # type: ignore[arg-type]


# --- parse_mailbox: CVE-2023-27043 and friends --------------------------------------------------------

# The separators of CPython's regression test for gh-102988: "alice@example.org{sep}<bob@example.com>".
# A vulnerable parseaddr() returned one of the two addresses; the right answer is "not an address".
CVE_2023_27043_SEPARATORS = ["(", ")", "<", ">", "[", "]", "@", ";", ":", ".", '"', ","]


@pytest.mark.parametrize("sep", CVE_2023_27043_SEPARATORS)
def test_cve_2023_27043_separator_tricks_rejected(sep: str) -> None:
    assert parse_mailbox(f"{ALICE}{sep}<{BOB}>") is None


@pytest.mark.parametrize(
    "value",
    [
        "alice@example.org )Alice(",  # unbalanced comment
        "alice@example.org (Alice))",
        f"{ALICE}, {BOB}",  # a list of two
        f'"Jane Doe" <{ALICE}>, "John Doe" <{BOB}>',
        f"<{ALICE}>, <{BOB}>",
        f"{ALICE} {BOB}",
        f"Alice <{ALICE}> Bob <{BOB}>",
        f"friends: {ALICE};",  # a group, even of one
        f"friends: {ALICE}, {BOB};",
        "Undisclosed recipients:;",
        f"{ALICE} <{BOB}>",  # display name that looks like an address, unquoted (phishing classic)
        "",
        "   ",
        "<>",
        "MAILER-DAEMON",
        "Alice",
        "=?utf-8?q?Alice?=",
        f"Alice <{ALICE}",
        f"Alice {ALICE}>",
        f"{ALICE}\r\nBcc: victim@example.com",  # header injection
        f"Alice <{ALICE}>\nX-Evil: 1",
        f"Alice <{ALICE}>\x00",
        "Alice <alice@exa\x00mple.org>",
        'Alice <"alice smith"@example.org>',
        "Alice <alice@[192.0.2.1]>",
        "Alice <alice@localhost>",
        f"Alice <{ALICE}>" + " " * 3000,  # absurdly long
        "[]*-- =~$",
    ],
)
def test_parse_mailbox_rejects(value: str) -> None:
    assert parse_mailbox(value) is None


def test_quoted_display_name_cannot_impersonate_an_address() -> None:
    # The address is the angle-addr, never the quoted display name.
    assert parse_mailbox('"bob@example.org" <alice@evil.example>') == Mailbox(
        name="bob@example.org", address="alice@evil.example"
    )
    assert parse_mailbox(f'"Alice, {ALICE}" <{BOB}>') == Mailbox(name=f"Alice, {ALICE}", address=BOB)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (ALICE, Mailbox("", ALICE)),
        (f"<{ALICE}>", Mailbox("", ALICE)),
        (f"Alice Smith <{ALICE}>", Mailbox("Alice Smith", ALICE)),
        (f'"Smith, Alice" <{ALICE}>', Mailbox("Smith, Alice", ALICE)),
        (f"{ALICE} (Alice)", Mailbox("", ALICE)),  # a comment is not a display name
        ("Alice <Alice@EXAMPLE.ORG>", Mailbox("Alice", "Alice@example.org")),
        (f"Alice\r\n <{ALICE}>", Mailbox("Alice", ALICE)),  # folded header
        (f"Alice\n\t<{ALICE}>", Mailbox("Alice", ALICE)),
        (f"Mary <@relay.example:{ALICE}>", Mailbox("Mary", ALICE)),  # obsolete route, still one address
        ("Jörg <jörg@bücher.de>", Mailbox("Jörg", "jörg@bücher.de")),  # SMTPUTF8
        (f"  Alice   Smith   <{ALICE}>  ", Mailbox("Alice Smith", ALICE)),
    ],
)
def test_parse_mailbox_accepts(value: str, expected: Mailbox) -> None:
    assert parse_mailbox(value) == expected


@pytest.mark.parametrize(
    ("value", "name"),
    [
        (f"=?utf-8?q?J=C3=B6rg_Muster?= <{ALICE}>", "Jörg Muster"),
        (f"=?iso-8859-1?q?Andr=E9?= Pirard <{ALICE}>", "André Pirard"),
        (f"=?utf-8?b?UG9saXRpZSBMb21tZWw=?= <{ALICE}>", "Politie Lommel"),
        (f'"=?utf-8?q?J=C3=B6rg?=" <{ALICE}>', "Jörg"),  # quoted encoded word: non-conforming but common
        (f"=?utf-8?q?evil=0D=0ABcc:_x@example.com?= <{ALICE}>", "evil Bcc: x@example.com"),  # CR LF
        (f"=?utf-8?q?=E2=80=AEgro.elpmaxe?= <{ALICE}>", "gro.elpmaxe"),  # bidi override dropped
        (f"=?x-unknown?q?abc?= <{ALICE}>", "abc"),
    ],
)
def test_parse_mailbox_decodes_display_names(value: str, name: str) -> None:
    assert parse_mailbox(value) == Mailbox(name, ALICE)


def test_parse_mailbox_undecodable_name_keeps_address() -> None:
    found = parse_mailbox(f"=?utf-8?b?////?= <{ALICE}>")
    assert found is not None
    assert found.address == ALICE
    found.name.encode("utf-8")  # no lone surrogates


def test_parse_mailbox_none_and_non_str() -> None:
    assert parse_mailbox(None) is None
    assert parse_mailbox(42) is None  # type: ignore[arg-type]


def test_parse_mailbox_test_environment() -> None:
    assert parse_mailbox("Tester <t@relay.test>") is None
    assert parse_mailbox("Tester <t@relay.test>", test_environment=True) == Mailbox("Tester", "t@relay.test")


def test_mailbox_parts() -> None:
    box = Mailbox("Politie", "industrie+confirm-x@politie.lommel.be")
    assert box.domain == "politie.lommel.be"
    assert box.local_part == "industrie+confirm-x"
    with pytest.raises(AttributeError):
        box.address = "other@example.org"  # type: ignore[misc]


@settings(max_examples=200, deadline=None, database=None)
@given(st.text(max_size=300))
def test_parse_mailbox_never_raises(value: str) -> None:
    found = parse_mailbox(value)
    assert found is None or normalize_address(found.address) == found.address


@settings(max_examples=200, deadline=None, database=None)
@given(
    st.text(alphabet=st.sampled_from(list('ab@."<>()[],;:\\ \r\n=?')), max_size=60),
    st.sampled_from([ALICE, f"<{ALICE}>", f"A <{ALICE}>"]),
)
def test_parse_mailbox_specials_give_a_clean_mailbox_or_none(junk: str, base: str) -> None:
    found = parse_mailbox(junk + base + junk)
    if found is not None:
        assert normalize_address(found.address) == found.address
        assert header_safe(found.name) == found.name


# --- split_subaddress --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "delimiter", "expected"),
    [
        (
            "industrie+confirm-TOKEN@politie.lommel.be",
            "+",
            ("industrie", "confirm-TOKEN", "politie.lommel.be"),
        ),
        ("industrie@Politie.Lommel.BE", "+", ("industrie", None, "politie.lommel.be")),
        ("Industrie+Request@politie.lommel.be", "+", ("Industrie", "Request", "politie.lommel.be")),
        ("industrie+bounces-a+b@x.be", "+", ("industrie", "bounces-a+b", "x.be")),  # first delimiter
        ("industrie+@x.be", "+", ("industrie", "", "x.be")),
        ("industrie-confirm-TOKEN@x.be", "-", ("industrie", "confirm-TOKEN", "x.be")),
        ("industrie+reply-T@x.be", "-", ("industrie+reply", "T", "x.be")),
        ("industrie--reply-T@x.be", "--", ("industrie", "reply-T", "x.be")),
    ],
)
def test_split_subaddress(address: str, delimiter: str, expected: tuple[str, str | None, str]) -> None:
    assert split_subaddress(address, delimiter) == expected


def test_split_subaddress_default_delimiter() -> None:
    assert split_subaddress("a+b@c.be") == ("a", "b", "c.be")


@pytest.mark.parametrize(("address", "delimiter"), [("no-at-sign", "+"), ("a+b@c.be", "")])
def test_split_subaddress_errors(address: str, delimiter: str) -> None:
    with pytest.raises(ValueError):
        split_subaddress(address, delimiter)


# --- is_mailer_daemon --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("", True),
        ("<>", True),
        (" < > ", True),
        ("MAILER-DAEMON@mx.example.org", True),
        ("mailer-daemon@mx.example.org", True),
        ("Mailer-Daemon", True),
        ("<MAILER-DAEMON@mx.example.org>", True),
        ("postmaster@example.org", True),
        ("POSTMASTER", True),
        ("double-bounce@mx.example.org", True),
        ("noreply@example.org", False),
        ("no-reply@example.org", False),
        ("do-not-reply@example.org", False),
        ("alice@example.org", False),
        ("mailer-daemon-fan@example.org", False),
        ("alice@mailer-daemon.example.org", False),
    ],
)
def test_is_mailer_daemon(address: str, expected: bool) -> None:
    assert is_mailer_daemon(address) is expected


# --- header_safe / sanitize_header_text ---------------------------------------------------------------


@pytest.mark.parametrize("value", ["Melding: diefstal koperdraad", "", "Jörg <j@example.org>", "a\tb", "😀"])
def test_header_safe_passes_clean_values(value: str) -> None:
    assert header_safe(value) is value


@pytest.mark.parametrize(
    "value",
    [
        "Subject\r\nBcc: victim@example.com",
        "Subject\nBcc: victim@example.com",
        "Subject\rBcc: victim@example.com",
        "trailing\r\n",
        "nul\x00byte",
        "line\u2028separator",
        "next\x85line",
        "vertical\x0btab",
    ],
)
def test_header_safe_refuses_header_injection(value: str) -> None:
    with pytest.raises(ValueError, match="line-breaking"):
        header_safe(value)


@pytest.mark.parametrize(
    ("value", "limit", "expected"),
    [
        ("Diefstal  op\r\n het\tterrein", 200, "Diefstal op het terrein"),
        ("  spaces  ", 200, "spaces"),
        ("bell\x07 and\x00nul\x1b[31m", 200, "bell andnul[31m"),
        ("evil\r\nBcc: x@example.com", 200, "evil Bcc: x@example.com"),
        ("\u202etxt.exe", 200, "txt.exe"),
        ("lone \udc80 surrogate", 200, "lone \ufffd surrogate"),
        ("abcdef", 3, "abc"),
        ("ab cdef", 3, "ab"),
        ("anything", 0, ""),
        ("Jörg 😀 Ωmega", 200, "Jörg 😀 Ωmega"),
        ("line\u2028sep\x85x", 200, "line sep x"),
    ],
)
def test_sanitize_header_text(value: str, limit: int, expected: str) -> None:
    assert sanitize_header_text(value, limit) == expected


def test_sanitize_header_text_default_limit_and_huge_input() -> None:
    assert len(sanitize_header_text("x" * 10_000)) == 200
    assert sanitize_header_text(" " * 1_000_000 + "x") == ""  # bounded work: only the head is read


@settings(max_examples=200, deadline=None, database=None)
@given(st.text(), st.integers(min_value=0, max_value=300))
def test_sanitize_header_text_output_is_header_safe(value: str, limit: int) -> None:
    cleaned = sanitize_header_text(value, limit)
    assert len(cleaned) <= limit
    assert header_safe(cleaned) == cleaned
    cleaned.encode("utf-8")
