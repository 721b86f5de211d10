"""The IMAP intake's pure parts: backoff, routes from headers, envelope sender, folder names, parsing."""

from __future__ import annotations

import imaplib

import pytest

from save_relay.core.errors import ConfigError
from save_relay.core.routing import Purpose
from save_relay.core.settings import load_settings
from save_relay.intake.imap_client import encode_mailbox, parse_body, parse_candidates, uid_sets
from save_relay.intake.imap_policy import (
    Disposition,
    disposition,
    envelope_sender,
    headers_of,
    retry_delay,
    route_for,
    server_busy,
)

TOKEN = "k7" * 13
NETWORK = {
    "industrie": {
        "address": "industrie@politie.lommel.be",
        "name": "SaVE Lommel",
        "moderators": ["inspecteur.peeters@politie.lommel.be"],
    },
    "bin": {"address": "bin@politie.lommel.be", "name": "BIN", "moderators": ["a@politie.lommel.be"]},
}
SETTINGS = load_settings(None, networks=NETWORK)


def test_retry_delay_grows_exponentially_with_jitter_and_a_cap() -> None:
    lows = [retry_delay(n, base=1, cap=60, rand=0.0) for n in range(1, 10)]
    highs = [retry_delay(n, base=1, cap=60, rand=0.999999) for n in range(1, 10)]
    assert lows == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]
    assert [round(h) for h in highs] == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert retry_delay(10_000, base=1, cap=300, rand=0.5) == 225  # no overflow, capped
    assert retry_delay(0, base=2, cap=60, rand=0.0) == 1  # treated as the first failure


def test_a_refused_login_waits_at_least_the_auth_floor() -> None:
    assert retry_delay(1, base=1, cap=300, rand=0.0, auth_failed=True, auth_floor=60) == 30
    assert retry_delay(1, base=1, cap=300, rand=0.999, auth_failed=True, auth_floor=60) > 59
    assert retry_delay(1, base=1, cap=300, rand=0.0, auth_failed=False, auth_floor=60) == 0.5


def test_disposition_depends_on_size_only() -> None:
    assert disposition(100, 100) is Disposition.PROCESSED
    assert disposition(101, 100) is Disposition.REJECTED


def route(raw: bytes, network: str = "industrie") -> tuple[str, Purpose, str | None]:
    found = route_for(SETTINGS, network, headers_of(raw))
    return found.network_key, found.purpose, found.token


def test_route_from_delivery_headers() -> None:
    assert route(b"To: industrie@politie.lommel.be\r\n\r\nx") == ("industrie", Purpose.POST, None)
    confirm = f"industrie+confirm-{TOKEN}@politie.lommel.be".encode()
    assert route(b"To: Politie <" + confirm + b">\r\n\r\n") == ("industrie", Purpose.CONFIRM, TOKEN)
    # Delivered-To is plain (the mailbox), the visible To has the sub-address: the sub-address wins.
    raw = b"Delivered-To: industrie@politie.lommel.be\r\nTo: " + confirm + b"\r\n\r\n"
    assert route(raw) == ("industrie", Purpose.CONFIRM, TOKEN)
    bounce = f"industrie+bounces-{TOKEN}@politie.lommel.be".encode()
    assert route(b"X-Original-To: " + bounce + b"\r\nTo: x@y.example\r\n\r\n")[1] is Purpose.BOUNCES
    assert route(b"Cc: a@b.example, " + confirm + b"\r\n\r\n")[1] is Purpose.CONFIRM


def test_route_falls_back_to_a_post() -> None:
    assert route(b"To: iemand@elders.example\r\n\r\n") == ("industrie", Purpose.POST, None)
    assert route(b"To: industrie+confirm-kort@politie.lommel.be\r\n\r\n")[1] is Purpose.POST
    assert route(b"Subject: no To at all\r\n\r\n")[1] is Purpose.POST
    assert route(b"To: ,,,<<>>@@\r\n\r\n")[1] is Purpose.POST  # nonsense, no crash
    # Another network's sub-address is not this mailbox's business.
    other = f"bin+confirm-{TOKEN}@politie.lommel.be".encode()
    assert route(b"To: " + other + b"\r\n\r\n") == ("industrie", Purpose.POST, None)


def test_envelope_sender() -> None:
    assert (
        envelope_sender(headers_of(b"Return-Path: <a@b.example>\r\nFrom: c@d.example\r\n\r\n"))
        == "a@b.example"
    )
    assert envelope_sender(headers_of(b"Return-Path: <>\r\nFrom: MAILER-DAEMON@d.example\r\n\r\n")) == ""
    assert envelope_sender(headers_of(b"From: Jan <c@d.example>\r\n\r\n")) == "c@d.example"
    assert envelope_sender(headers_of(b"Subject: x\r\n\r\n")) == ""


def test_folder_names_use_the_server_delimiter_and_modified_utf7() -> None:
    assert encode_mailbox("save-relay/processed", "/") == '"save-relay/processed"'
    assert encode_mailbox("save-relay/processed", ".") == '"save-relay.processed"'
    assert encode_mailbox("Verwerkt & klaar", "/") == '"Verwerkt &- klaar"'
    assert encode_mailbox('a"b\\c', None) == '"a\\"b\\\\c"'
    # RFC 3501's own example, and what imaplib-compatible servers expect for non-ASCII names.
    assert encode_mailbox("~peter/mail/台北/日本語", "/") == '"~peter/mail/&U,BTFw-/&ZeVnLIqe-"'
    assert encode_mailbox("Boîte", "/") == '"Bo&AO4-te"'


def test_uid_sets_are_sorted_deduplicated_and_chunked() -> None:
    assert uid_sets([3, 1, 2, 2]) == ["1,2,3"]
    chunks = uid_sets(range(1, 451))
    assert len(chunks) == 3 and chunks[0].startswith("1,2,") and chunks[-1].endswith(",450")


def test_parse_fetch_responses() -> None:
    lines = [
        b"1 FETCH (UID 7 RFC822.SIZE 351 FLAGS (\\Seen save-relay-processed))",
        b"2 FETCH (FLAGS () UID 9 RFC822.SIZE 20)",
        b"3 EXISTS",
        b"Fetch completed (0.001 + 0.000 secs).",
    ]
    found = parse_candidates(lines)
    assert [(c.uid, c.size) for c in found] == [(7, 351), (9, 20)]
    assert found[0].flags == {"\\seen", "save-relay-processed"} and found[1].flags == frozenset()

    body = bytearray(b"Subject: x\r\n\r\nbody\r\n")
    fetched = [b"1 FETCH (UID 7 BODY[] {22}", body, b")", b"Fetch completed."]
    assert parse_body(fetched, 7) == bytes(body)
    assert parse_body(fetched, 8) is None
    after = [b"1 FETCH (BODY[] {22}", body, b" UID 7)", b"Fetch completed."]  # UID after the literal
    assert parse_body(after, 7) == bytes(body)
    assert parse_body([b"Fetch completed."], 7) is None


def test_imap_settings_are_checked() -> None:
    def imap(**conf: object) -> object:
        network = {**NETWORK["industrie"], "imap": {"host": "imap.example", "user": "u", **conf}}
        return load_settings(None, networks={"industrie": network}).networks["industrie"].imap

    with pytest.raises(ConfigError, match="exactly one of password and oauth2_token_command"):
        imap()
    with pytest.raises(ConfigError, match="exactly one of"):
        imap(password="p", oauth2_token_command="get-token")
    with pytest.raises(ConfigError, match="only allowed on loopback"):
        imap(password="p", tls="plain")
    with pytest.raises(ConfigError, match="flag_keyword"):
        imap(password="p", flag_keyword="two words")
    conf = imap(password="p")
    assert conf.effective_port == 993 and conf.folder == "INBOX" and conf.after == "move"  # type: ignore[attr-defined]
    assert imap(password="p", tls="starttls").effective_port == 143  # type: ignore[attr-defined]


def test_imaplib_agrees_on_quoting() -> None:
    """The standard library's own quoting, as a cross-check of ours for plain names."""
    client = imaplib.IMAP4.__new__(imaplib.IMAP4)
    assert client._quote("save-relay/processed") == encode_mailbox("save-relay/processed", "/")


def test_a_server_that_says_limit_or_unavailable_is_busy() -> None:
    """RFC 5530 codes that ask us to come back later (Dovecot's too-many-connections answer)."""
    assert server_busy("login failed: [LIMIT] Maximum number of connections from user+IP exceeded")
    assert server_busy("NO [UNAVAILABLE] Internal error occurred")
    assert not server_busy("timeout")
    assert not server_busy("login failed: [AUTHENTICATIONFAILED] Authentication failed.")
