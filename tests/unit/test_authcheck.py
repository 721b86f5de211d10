"""mail/authcheck.py: DKIM verified offline with a generated key; Authentication-Results trusted only
from configured hosts."""

from __future__ import annotations

import pytest

from save_relay.mail.authcheck import aligned, authenticate, trusted_results, verify_dkim
from tests.dkim_support import FakeDns, sign

MESSAGE = (
    b"From: Inspecteur Peeters <inspecteur.peeters@politie.lommel.be>\r\n"
    b"To: industrie+confirm-abc@politie.lommel.be\r\n"
    b"Subject: RE: ok\r\n"
    b"Message-ID: <1@politie.lommel.be>\r\n"
    b"\r\n"
    b"ok\r\n"
)
DOMAIN = "politie.lommel.be"
TRUSTED = ["mx.politie.lommel.be"]


@pytest.fixture
def dns() -> FakeDns:
    dns = FakeDns()
    dns.publish("sel", DOMAIN)
    dns.publish("evil", "evil.example", label="other")
    return dns


@pytest.mark.parametrize(
    ("d", "from_domain", "expected"),
    [
        ("politie.lommel.be", "politie.lommel.be", True),
        ("lommel.be", "politie.lommel.be", True),  # relaxed: From is a subdomain of d=
        ("POLITIE.lommel.be.", "politie.lommel.be", True),
        ("politie.lommel.be", "lommel.be", False),
        ("evil.example", "politie.lommel.be", False),
        ("be", "politie.lommel.be", False),  # a bare TLD never aligns
        ("ommel.be", "politie.lommel.be", False),
        ("", "politie.lommel.be", False),
    ],
)
def test_alignment(d: str, from_domain: str, expected: bool) -> None:
    assert aligned(d, from_domain) is expected


def test_valid_aligned_signature_passes(dns: FakeDns) -> None:
    result = verify_dkim(sign(MESSAGE, "sel", DOMAIN), DOMAIN, dns)
    assert result.ok, result.how
    assert dns.lookups == ["sel._domainkey.politie.lommel.be."]


def test_tampered_message_fails(dns: FakeDns) -> None:
    signed = sign(MESSAGE, "sel", DOMAIN).replace(b"\r\nok\r\n", b"\r\nafwijzen\r\n")
    result = verify_dkim(signed, DOMAIN, dns)
    assert not result.ok and "fail" in result.how


def test_missing_signature_fails(dns: FakeDns) -> None:
    result = verify_dkim(MESSAGE, DOMAIN, dns)
    assert not result.ok and "no signature" in result.how


def test_valid_signature_of_another_domain_is_not_aligned(dns: FakeDns) -> None:
    signed = sign(MESSAGE, "evil", "evil.example", label="other")
    result = verify_dkim(signed, DOMAIN, dns)
    assert not result.ok and "not aligned" in result.how


def test_unknown_key_fails(dns: FakeDns) -> None:
    signed = sign(MESSAGE, "nokey", DOMAIN)
    assert not verify_dkim(signed, DOMAIN, dns).ok


def test_garbage_never_raises(dns: FakeDns) -> None:
    for raw in (b"", b"\x00\xff", b"DKIM-Signature: v=1; garbage\r\n\r\nbody", b"no headers at all"):
        assert not authenticate(raw, DOMAIN, TRUSTED, dns).ok


def results(value: str) -> bytes:
    return f"Authentication-Results: {value}\r\n".encode() + MESSAGE


@pytest.mark.parametrize(
    "value",
    [
        "mx.politie.lommel.be; dkim=pass header.d=politie.lommel.be header.s=sel",
        "mx.politie.lommel.be 1; spf=fail; dkim=pass (good signature) header.i=@politie.lommel.be",
        "MX.Politie.Lommel.BE; dmarc=pass (p=reject) header.from=politie.lommel.be",
    ],
)
def test_trusted_authentication_results_pass(value: str) -> None:
    assert trusted_results(results(value), DOMAIN, TRUSTED).ok


@pytest.mark.parametrize(
    "value",
    [
        "mx.evil.example; dkim=pass header.d=politie.lommel.be",  # not our MTA: ignored
        "mx.politie.lommel.be; dkim=fail header.d=politie.lommel.be",
        "mx.politie.lommel.be; dkim=pass header.d=evil.example",  # not aligned
        "mx.politie.lommel.be; dmarc=fail header.from=politie.lommel.be",
        "mx.politie.lommel.be; none",
    ],
)
def test_untrusted_or_failing_authentication_results(value: str) -> None:
    assert not trusted_results(results(value), DOMAIN, TRUSTED).ok


def test_only_the_topmost_trusted_header_counts() -> None:
    # Our MTA's verdict is on top; a "pass" the sender wrote below it with our id changes nothing.
    raw = (
        b"Authentication-Results: mx.politie.lommel.be; dkim=fail header.d=politie.lommel.be\r\n"
        b"Authentication-Results: mx.politie.lommel.be; dkim=pass header.d=politie.lommel.be\r\n"
    ) + MESSAGE
    assert not trusted_results(raw, DOMAIN, TRUSTED).ok


def test_no_trusted_ids_configured_trusts_nothing() -> None:
    raw = results("mx.politie.lommel.be; dkim=pass header.d=politie.lommel.be")
    assert not trusted_results(raw, DOMAIN, []).ok


def test_authenticate_needs_a_from_domain(dns: FakeDns) -> None:
    assert not authenticate(sign(MESSAGE, "sel", DOMAIN), None, TRUSTED, dns).ok
    assert authenticate(sign(MESSAGE, "sel", DOMAIN), DOMAIN, TRUSTED, dns).ok
