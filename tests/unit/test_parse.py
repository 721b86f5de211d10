"""Tests for save_relay.mail.parse: parse_message never raises and extracts what the relay needs."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from save_relay.core.addresses import Mailbox
from save_relay.mail.parse import MAX_TEXT, Attachment, ParsedMessage, html_to_text, parse_message
from tests.corpus import corpus_dir, corpus_files


def assert_storable(parsed: ParsedMessage) -> None:
    """Every string can go to a database and every single-line field is one line."""
    assert isinstance(parsed.text, str)
    for value in _strings(dataclasses.astuple(parsed)):
        value.encode("utf-8")  # no lone surrogates
        assert "\x00" not in value
    one_line = [parsed.subject, parsed.message_id or "", parsed.in_reply_to or "", *parsed.references]
    one_line += [v for header in parsed.headers for v in header]
    one_line += [a.filename for a in parsed.attachments]
    one_line += [parsed.sender.name if parsed.sender else "", parsed.reply_to.name if parsed.reply_to else ""]
    for value in one_line:
        assert "\r" not in value and "\n" not in value


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, tuple):
        return [s for item in value for s in _strings(item)]
    return []


def msg(*lines: str, body: str = "Body.\n") -> bytes:
    return ("\r\n".join(lines) + "\r\n\r\n" + body.replace("\n", "\r\n")).encode()


SIMPLE = msg(
    "Return-Path: <jan@bedrijf.example>",
    "From: Jan Peeters <jan@bedrijf.example>",
    "To: industrie@politie.lommel.be",
    "Reply-To: Security <security@bedrijf.example>",
    "Subject: =?utf-8?q?Verdacht_voertuig_op_het_terrein_=E2=80=93_Kolonel?= Dusartplein",
    "Date: Tue, 14 May 2024 21:13:05 +0200",
    "Message-ID: <abc.123@bedrijf.example>",
    "In-Reply-To: <parent@politie.lommel.be>",
    "References: <root@politie.lommel.be>\r\n <parent@politie.lommel.be>",
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: 8bit",
    body="Witte bestelwagen, nummerplaat 1-ABC-234.\nGroeten,\nJan\n",
)


def test_simple_message() -> None:
    parsed = parse_message(SIMPLE)
    assert parsed.sender == Mailbox("Jan Peeters", "jan@bedrijf.example")
    assert parsed.reply_to == Mailbox("Security", "security@bedrijf.example")
    assert parsed.subject == "Verdacht voertuig op het terrein – Kolonel Dusartplein"
    assert parsed.date == datetime(2024, 5, 14, 21, 13, 5, tzinfo=timezone(timedelta(hours=2)))
    assert parsed.message_id == "abc.123@bedrijf.example"
    assert parsed.in_reply_to == "parent@politie.lommel.be"
    assert parsed.references == ("root@politie.lommel.be", "parent@politie.lommel.be")
    assert parsed.text == "Witte bestelwagen, nummerplaat 1-ABC-234.\nGroeten,\nJan\n"
    assert parsed.html is None
    assert parsed.attachments == ()
    assert not parsed.auto_submitted
    assert not parsed.from_mailer_daemon
    assert parsed.defects == ()
    assert parsed.header("to") == "industrie@politie.lommel.be"
    assert parsed.header("X-Missing") is None
    assert parsed.header("References") == "<root@politie.lommel.be> <parent@politie.lommel.be>"
    assert parsed.headers[0] == ("Return-Path", "<jan@bedrijf.example>")
    assert_storable(parsed)


def nested_multipart(depth: int) -> bytes:
    out = b"From: a@example.org\r\nSubject: deep\r\n"
    for i in range(depth):
        out += b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i)
    out += b"Content-Type: text/plain\r\n\r\ninnermost\r\n"
    for i in reversed(range(depth)):
        out += b"--b%d--\r\n" % i
    return out


def nested_rfc822(depth: int) -> bytes:
    return b"From: a@example.org\r\n" + b"Content-Type: message/rfc822\r\n\r\n" * depth + b"\r\nhi\r\n"


Check = Callable[[ParsedMessage], bool]

# (id, raw bytes, a check on the result). Every one must parse without an exception.
MALFORMED: list[tuple[str, bytes, Check]] = [
    ("empty", b"", lambda p: p.text == "" and p.sender is None and "no From" in p.defects),
    ("only-nul", b"\x00" * 64, lambda p: p.text == "" and p.subject == ""),
    ("nul-in-body", msg("From: a@example.org", body="a\x00b\n"), lambda p: p.text == "ab\n"),
    (
        "nul-in-from",
        msg("From: a\x00@example.org"),
        lambda p: p.sender is None and "invalid From" in p.defects,
    ),
    ("only-newlines", b"\r\n\r\n\r\n", lambda p: p.sender is None),
    ("no-header-separator", b"just some text without headers\r\n", lambda p: isinstance(p.text, str)),
    (
        "lf-only",
        b"From: a@example.org\nSubject: lf\n\nline1\nline2\n",
        lambda p: p.subject == "lf" and p.text == "line1\nline2\n",
    ),
    ("cr-only", b"From: a@example.org\rSubject: cr\r\rbody\r", lambda p: isinstance(p.text, str)),
    (
        "continuation-first",
        b" folded: first\r\nFrom: a@example.org\r\n\r\nbody\r\n",
        lambda p: "FirstHeaderLineIsContinuationDefect" in p.defects,
    ),
    (
        "8bit-utf8-subject",
        "From: a@example.org\r\nSubject: Inbraak in Lommel – ’s nachts\r\n\r\nx".encode(),
        lambda p: p.subject == "Inbraak in Lommel – ’s nachts",
    ),
    (
        "8bit-latin1-subject",
        "From: a@example.org\r\nSubject: caf\xe9 ferm\xe9\r\n\r\nx".encode("latin-1"),
        lambda p: p.subject == "café fermé",
    ),
    (
        "8bit-from-name",
        "From: Jörg Müller <jorg@example.org>\r\n\r\nx".encode(),
        lambda p: p.sender == Mailbox("Jörg Müller", "jorg@example.org"),
    ),
    (
        "bad-encoded-words",
        msg("From: a@example.org", "Subject: =?utf-8?b?!!!?= =?x-nope?q?hi?= =?utf-8?q?=ZZ?="),
        lambda p: isinstance(p.subject, str),
    ),
    (
        "encoded-crlf-subject",
        msg("From: a@example.org", "Subject: =?utf-8?q?a=0D=0ABcc:_victim@example.com?="),
        lambda p: p.subject == "a Bcc: victim@example.com",
    ),
    ("bad-date", msg("From: a@example.org", "Date: yesterday at noon"), lambda p: p.date is None),
    (
        "date-minus-zero",
        msg("From: a@example.org", "Date: Tue, 14 May 2024 21:13:05 -0000"),
        lambda p: p.date == datetime(2024, 5, 14, 21, 13, 5, tzinfo=UTC),
    ),
    ("date-year-overflow", msg("Date: Tue, 14 May 99999999 21:13:05 +0000"), lambda p: p.date is None),
    (
        "two-froms",
        msg("From: boss@politie.lommel.be", "From: attacker@evil.example"),
        lambda p: p.sender is None and "multiple From headers" in p.defects,
    ),
    (
        "cve-2023-27043-from",
        msg("From: attacker@evil.example(<boss@politie.lommel.be>"),
        lambda p: p.sender is None and "invalid From" in p.defects,
    ),
    ("group-from", msg("From: team: a@example.org, b@example.org;"), lambda p: p.sender is None),
    (
        "no-boundary-param",
        msg(
            "From: a@example.org",
            "Content-Type: multipart/mixed",
            body="--x\nContent-Type: text/plain\n\nhi\n--x--\n",
        ),
        lambda p: "NoBoundaryInMultipartDefect" in p.defects and "hi" in p.text,
    ),
    (
        "boundary-never-used",
        msg(
            "From: a@example.org",
            'Content-Type: multipart/mixed; boundary="nope"',
            body="--other\nContent-Type: text/plain\n\nstill readable\n--other--\n",
        ),
        lambda p: "StartBoundaryNotFoundDefect" in p.defects and "still readable" in p.text,
    ),
    (
        "close-boundary-missing",
        msg(
            "From: a@example.org",
            "Content-Type: multipart/mixed; boundary=b",
            body="--b\nContent-Type: text/plain\n\nhello there\n",
        ),
        lambda p: "CloseBoundaryNotFoundDefect" in p.defects and "hello there" in p.text,
    ),
    (
        "empty-multipart",
        msg("From: a@example.org", "Content-Type: multipart/alternative; boundary=b", body="--b--\n"),
        lambda p: p.text == "",
    ),
    (
        "invalid-base64",
        msg(
            "From: a@example.org",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: base64",
            body="SGVsbG8gV29y!!!bGQ=*=\n%%%\n",
        ),
        lambda p: isinstance(p.text, str),
    ),
    (
        "invalid-qp",
        msg(
            "From: a@example.org",
            "Content-Type: text/plain",
            "Content-Transfer-Encoding: quoted-printable",
            body="caf=E9 =ZZ =\n soft=\n",
        ),
        lambda p: p.text.startswith("caf"),
    ),
    (
        "unknown-cte",
        msg("From: a@example.org", "Content-Transfer-Encoding: x-rot13-please", body="plain anyway\n"),
        lambda p: p.text == "plain anyway\n",
    ),
    (
        "bad-uuencode",
        msg("From: a@example.org", "Content-Transfer-Encoding: x-uuencode", body="begin 644 f\n!!!!\nend\n"),
        lambda p: isinstance(p.text, str),
    ),
    (
        "unknown-charset",
        msg("From: a@example.org", "Content-Type: text/plain; charset=x-klingon", body="qapla'\n"),
        lambda p: p.text == "qapla'\n",
    ),
    (
        "bytes-codec-charset",
        msg("From: a@example.org", "Content-Type: text/plain; charset=zlib", body="hello\n"),
        lambda p: p.text == "hello\n",
    ),
    (
        "mislabelled-latin1",
        b"From: a@example.org\r\nContent-Type: text/plain; charset=utf-8\r\n\r\ncaf\xe9\r\n",
        lambda p: p.text == "café\n",
    ),
    (
        "rfc2231-garbage",
        msg(
            "From: a@example.org",
            "Content-Type: application/pdf; name*0*=x-bad'zz'%FF%FE; name*5=oops; name*=''",
            "Content-Disposition: attachment; filename*=bogus''%ZZ%",
        ),
        lambda p: len(p.attachments) == 1,
    ),
    (
        "garbage-content-type",
        msg("From: a@example.org", "Content-Type: ;;;===;;", body="text\n"),
        lambda p: p.text == "text\n",
    ),
    (
        "invalid-multipart-subtype",
        msg(
            "From: a@example.org",
            "Content-Type: multipart/*; boundary=b",
            body="--b\nContent-Type: text/plain\n\ninside\n--b--\n",
        ),
        lambda p: p.text == "inside",
    ),
    (
        "nul-in-content-type",
        b"From: a@example.org\r\nContent-Type: \x00multipart/mixed\r\n\r\nbody",
        lambda p: p.text == "body",
    ),
    (
        "text-enriched-only",
        msg("From: a@example.org", "Content-Type: text/enriched", body="<bold>hi</bold>\n"),
        lambda p: p.text == "<bold>hi</bold>\n",
    ),
    ("nested-45", nested_multipart(45), lambda p: p.text.strip() == "innermost" and p.defects == ()),
    ("nested-100", nested_multipart(100), lambda p: "nesting too deep" in p.defects),
    ("nested-3000", nested_multipart(3000), lambda p: p.sender == Mailbox("", "a@example.org")),
    ("rfc822-3000", nested_rfc822(3000), lambda p: p.sender == Mailbox("", "a@example.org")),
    (
        "huge-subject",
        b"From: a@example.org\r\nSubject: " + b"A" * 2_000_000 + b"\r\n\r\nbody",
        lambda p: len(p.subject) == 1000 and p.text == "body",
    ),
    (
        "many-headers",
        b"From: a@example.org\r\n" + b"X-Spam: y\r\n" * 100_000 + b"\r\nbody",
        lambda p: len(p.headers) == 200 and p.text == "body",
    ),
    (
        "many-parts",
        msg(
            "From: a@example.org",
            "Content-Type: multipart/mixed; boundary=b",
            body="--b\nContent-Type: image/png\n\nx\n" * 2000 + "--b--\n",
        ),
        lambda p: "too many parts" in p.defects and len(p.attachments) < 1000,
    ),
    (
        "message-id-garbage",
        msg("From: a@example.org", "Message-ID: no brackets here", "References: <a@b> junk <c@d> <>"),
        lambda p: p.message_id == "nobracketshere" and p.references == ("a@b", "c@d"),
    ),
    ("empty-message-id", msg("Message-ID: <>", "In-Reply-To:"), lambda p: p.message_id is None),
]


@pytest.mark.parametrize(
    ("raw", "check"), [(raw, check) for _, raw, check in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_messages(raw: bytes, check: Check) -> None:
    started = time.perf_counter()
    parsed = parse_message(raw)
    assert time.perf_counter() - started < 5
    assert_storable(parsed)
    assert check(parsed), parsed


def test_non_bytes_input_gives_an_empty_result() -> None:
    parsed = parse_message("not bytes")  # type: ignore[arg-type]
    assert parsed.text == "" and parsed.defects == ("internal error: TypeError",)


def test_bytearray_and_memoryview_are_accepted() -> None:
    assert parse_message(bytearray(SIMPLE)) == parse_message(SIMPLE)
    assert parse_message(memoryview(SIMPLE)) == parse_message(SIMPLE)


def test_test_environment_sender() -> None:
    raw = msg("From: Tester <t@relay.test>")
    assert parse_message(raw).sender is None
    assert parse_message(raw, test_environment=True).sender == Mailbox("Tester", "t@relay.test")


def test_text_is_limited() -> None:
    parsed = parse_message(msg("From: a@example.org", body="x" * (MAX_TEXT + 10)))
    assert len(parsed.text) == MAX_TEXT
    assert "text truncated" in parsed.defects


# --- auto-submitted and mailer-daemon detection -------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ((), False),
        (("Auto-Submitted: no",), False),
        (("Auto-Submitted: No ; comment",), False),
        (("Auto-Submitted: auto-replied",), True),
        (("Auto-Submitted: auto-generated; owner-email=x@example.org",), True),
        (("Auto-Submitted: auto-notified",), True),
        (("Precedence: bulk",), True),
        (("Precedence: List",), True),
        (("Precedence: junk",), True),
        (("Precedence: auto_reply",), True),
        (("Precedence: first-class",), False),
        (("X-Autoreply: yes",), True),
        (("X-Autorespond: vacation",), True),
        (("X-Auto-Response-Suppress: All",), False),  # a request about replies to it, not a robot marker
        (("X-Auto-Response-Suppress: OOF, AutoReply",), False),
        (("List-Id: SaVE Lommel <save.lommel.example>",), True),
        (("List-Unsubscribe: <mailto:leave@lists.example>",), True),
    ],
)
def test_auto_submitted(headers: tuple[str, ...], expected: bool) -> None:
    assert parse_message(msg("From: a@example.org", *headers)).auto_submitted is expected


@pytest.mark.parametrize(
    ("from_value", "expected"),
    [
        ("Mail Delivery System <MAILER-DAEMON@mx.example.org>", True),
        ("postmaster@example.org", True),
        ("MAILER-DAEMON", True),  # not a valid mailbox, still recognised
        ("Mail Delivery Subsystem <MAILER-DAEMON>", True),
        ("Mail Delivery System <>", True),
        ("<>", True),
        ('"Postmaster" <postmaster@192.0.2.1>', True),
        ("Jan <jan@example.org>", False),
        ("No Reply <noreply@example.org>", False),
    ],
)
def test_from_mailer_daemon(from_value: str, expected: bool) -> None:
    assert parse_message(msg(f"From: {from_value}")).from_mailer_daemon is expected


def test_no_from_is_not_a_mailer_daemon() -> None:
    parsed = parse_message(msg("Subject: x"))
    assert not parsed.from_mailer_daemon and "no From" in parsed.defects


# --- text and html -------------------------------------------------------------------------------------

HTML_ONLY = msg(
    "From: a@example.org",
    "Content-Type: text/html; charset=iso-8859-1",
    "Content-Transfer-Encoding: quoted-printable",
    body=(
        "<html><head><title>Titel</title><style>p {color: red}</style></head><body>\n"
        "<p>Beste,</p><p>Er werd ingebroken in hal&nbsp;3.<br>Twee daders, zwarte=\n"
        " kledij.</p><script>alert('x')</script><div>Groet</div><div>Caf=E9 Jan</div>\n"
        "<blockquote>Vorige melding<blockquote>nog ouder</blockquote></blockquote>"
        "<ul><li>een</li><li>twee</li></ul></body></html>\n"
    ),
)


def test_html_only_mail_gives_text() -> None:
    parsed = parse_message(HTML_ONLY)
    assert parsed.html is not None and "<script>" in parsed.html
    assert parsed.text == (
        "Beste,\n\nEr werd ingebroken in hal 3.\nTwee daders, zwarte kledij.\n\nGroet\nCafé Jan\n\n"
        "> Vorige melding\n>\n> > nog ouder\n\n  * een\n  * twee"
    )


def alternative(plain: str, html: str) -> bytes:
    return msg(
        "From: a@example.org",
        "MIME-Version: 1.0",
        'Content-Type: multipart/alternative; boundary="alt"',
        body=(
            f"preamble\n--alt\nContent-Type: text/plain; charset=utf-8\n\n{plain}\n"
            f"--alt\nContent-Type: text/html; charset=utf-8\n\n{html}\n--alt--\nepilogue\n"
        ),
    )


def test_alternative_prefers_plain_text() -> None:
    parsed = parse_message(alternative("plain version", "<p>html <b>version</b></p>"))
    assert parsed.text == "plain version"
    assert parsed.html == "<p>html <b>version</b></p>"


def test_alternative_with_empty_plain_falls_back_to_html() -> None:
    assert parse_message(alternative("  ", "<p>only in html</p>")).text == "only in html"


def test_inline_text_parts_are_joined_in_order() -> None:
    raw = msg(
        "From: a@example.org",
        "Content-Type: multipart/mixed; boundary=m",
        body=(
            "--m\nContent-Type: text/plain\n\nbefore the photo\n"
            "--m\nContent-Type: image/jpeg\nContent-Disposition: inline\n"
            "Content-Transfer-Encoding: base64\n\n/9j/4AAQ\n"
            "--m\nContent-Type: text/plain\n\nafter the photo\n--m--\n"
        ),
    )
    parsed = parse_message(raw)
    assert parsed.text == "before the photo\nafter the photo"
    assert parsed.attachments == (Attachment("", "image/jpeg", 6, None),)


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("", ""),
        ("plain words", "plain words"),
        ("a<br>b<br/>c", "a\nb\nc"),
        ("<p>one</p><p>two</p>", "one\n\ntwo"),
        ("<div>one</div><div>two</div>", "one\ntwo"),
        # table cells apart (issue 15: "Kenteken2-XYZ-987" was one word), list items as bullets
        ("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a | b\nc"),
        (
            "<table><tr><th>Kenteken</th><td>2-XYZ-987</td></tr>"
            "<tr><th>Merk</th><td>Ford Transit</td></tr></table>",
            "Kenteken | 2-XYZ-987\nMerk     | Ford Transit",
        ),
        (
            "<ul><li>wit</li><li>geen nummerplaat</li></ul><ol><li>een</li><li>twee</li></ol>",
            "  * wit\n  * geen nummerplaat\n 1. een\n 2. twee",
        ),
        (
            "<p>Hi</p><blockquote>a<blockquote><p>b</p><p>c</p></blockquote></blockquote>x",
            "Hi\n\n> a\n>\n> > b\n> >\n> > c\n\nx",
        ),
        ('<?xml version="1.0" encoding="utf-8"?><p>x\x00y\x0b</p>', "xy"),
        ("<!-- only a comment -->", ""),
        ("<script>var x = '<p>no</p>';</script>yes", "yes"),
        ("<style>body{}</style><STYLE>p{}</STYLE>visible", "visible"),
        (
            "<p>Hi</p><blockquote type=cite><div>quoted</div></blockquote><p>after</p>",
            "Hi\n\n> quoted\n\nafter",
        ),
        ("&lt;b&gt; &amp; &eacute; &#8364; &nbsp;", "<b> & é €"),
        ("<pre>a  b\n  c</pre>", "a  b\n  c"),
        ("<p>unclosed <b>bold <i>and more", "unclosed bold and more"),
        ("</blockquote></blockquote>text</p></div>", "text"),
        ("<![if !supportLists]>x<![endif]>", "x"),
        ("<![bogus marked section", ""),
        ("a<![bogus <b>b</b>", "ab"),
        ("<![ 1]>x", "x"),
        ("<script>never closed", ""),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


OUTLOOK_HTML_REPORT = msg(
    "From: Jan Vos <security@metaalwerken-vos.example>",
    "MIME-Version: 1.0",
    'Content-Type: text/html; charset="utf-8"',
    "Content-Transfer-Encoding: quoted-printable",
    body=(
        '<html xmlns:o=3D"urn:schemas-microsoft-com:office:office"><head><meta charset=3D"utf-8">'
        '<style><!-- p.MsoNormal {margin:0cm} --></style></head><body lang=3D"NL-BE">'
        '<div class=3D"WordSection1"><p class=3D"MsoNormal">Goedemorgen,<o:p></o:p></p>'
        '<p class=3D"MsoNormal">Verdacht voertuig aan poort 3:<o:p></o:p></p>'
        '<table class=3D"MsoTableGrid" border=3D"1"><tr><td><p class=3D"MsoNormal">Kenteken</p></td>'
        '<td><p class=3D"MsoNormal">2-XYZ-987</p></td></tr><tr><td><p class=3D"MsoNormal">Kleur</p></td>'
        '<td><p class=3D"MsoNormal">wit</p></td></tr></table>'
        '<ul><li class=3D"MsoListParagraph">twee inzittenden</li><li>richting E314</li></ul>'
        "</div></body></html>"
    ),
)


def test_html_only_outlook_report_keeps_table_cells_and_list_items_apart() -> None:
    text = parse_message(OUTLOOK_HTML_REPORT).text
    assert "Kenteken | 2-XYZ-987" in text and "Kleur    | wit" in text
    assert "Kenteken2-XYZ-987" not in text
    assert "  * twee inzittenden\n  * richting E314" in text
    assert text.startswith("Goedemorgen,\n\nVerdacht voertuig aan poort 3:") and "MsoNormal" not in text


@pytest.mark.parametrize(
    "hostile",
    [
        "<div>" * 20_000 + "diep",
        "<blockquote>" * 5_000 + "diep",
        "<table><tr><td>" * 3_000 + "diep",
        "<ul><li>" * 5_000 + "diep",
        "<p>" + "<b>x</b>" * 100_000,
        "<table>" + "<tr><td>Kenteken</td><td>2-XYZ-987</td></tr>" * 20_000 + "</table>",
    ],
    ids=["divs", "blockquotes", "tables", "lists", "inline", "long-table"],
)
def test_html_to_text_survives_hostile_html(hostile: str) -> None:
    start = time.perf_counter()
    text = html_to_text(hostile)
    assert time.perf_counter() - start < 20.0
    assert "diep" in text or "x" in text or "Kenteken" in text


HTML_CORPUS = {  # file: a phrase its text must hold
    "enmime__html-only-inline.raw": "Test of HTML section",
    "enmime__html-only-inline-2.raw": "",
    "enmime__unk-charset-html-only.raw": "Hello World!",
    "rspamd__mixed-related-html-only.eml": "This is an HTML-only message body.",
    "enmime__non-mime-html.raw": "",
    "rspamd__html_template_1.eml": "",
    "rspamd__html_phishing.eml": "",
    "mailman3__handlers_html_non_ascii.eml": "",
}


@pytest.mark.parametrize("name", sorted(HTML_CORPUS))
def test_corpus_html_mails_become_text(name: str) -> None:
    path = corpus_dir("mime") / name
    if not path.is_file():
        pytest.skip(f"{name} not in the corpus")
    parsed = parse_message(path.read_bytes())
    assert HTML_CORPUS[name] in parsed.text
    assert "<" not in parsed.text.replace("<<", "") or "&lt;" in (parsed.html or "") or not parsed.html
    if parsed.html and not HTML_CORPUS[name]:
        assert parsed.text.strip(), name  # html-only mail with text gives text


# --- attachments ---------------------------------------------------------------------------------------

ATTACHMENTS = msg(
    "From: a@example.org",
    "Subject: camerabeelden",
    'Content-Type: multipart/mixed; boundary="outer"',
    body="""--outer
Content-Type: multipart/related; boundary="rel"

--rel
Content-Type: text/html; charset=utf-8

<p>Zie foto <img src="cid:foto1@bedrijf"></p>
--rel
Content-Type: image/png
Content-ID: <foto1@bedrijf>
Content-Disposition: inline; filename="foto1.png"
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--rel--
--outer
Content-Type: application/pdf
Content-Disposition: attachment; filename*=utf-8''%E2%82%AC%20proces-verbaal.pdf
Content-Transfer-Encoding: base64

JVBERi0xLjQK
--outer
Content-Type: application/octet-stream
Content-Disposition: attachment;
 filename*0*=utf-8''Kamer%C3%A4;
 filename*1="-beelden deel ";
 filename*2*=%C3%A9%C3%A9n.mp4

AAAA
--outer
Content-Type: image/jpeg; name="=?utf-8?b?bmFjaHRiZWVsZC3DqcOpbi5qcGc=?="
Content-Disposition: attachment; filename="=?iso-8859-1?q?nachtbeeld_=E9=E9n.jpg?="

xyz
--outer
Content-Type: text/plain; name="notities.txt"

een bijgevoegd tekstbestand, geen body
--outer
Content-Type: application/zip
Content-Disposition: attachment; filename="../../etc/passwd"

zip
--outer
Content-Type: application/x-no-name
Content-Disposition: attachment

data
--outer
Content-Type: message/rfc822

From: origineel@bedrijf.example
Subject: doorgestuurd

het originele bericht
--outer--
""",
)


def test_attachments_are_listed() -> None:
    parsed = parse_message(ATTACHMENTS)
    names = [a.filename for a in parsed.attachments]
    assert names == [
        "foto1.png",
        "€ proces-verbaal.pdf",  # RFC 2231
        "Kamerä-beelden deel één.mp4",  # RFC 2231 continuations, mixed encoded and plain
        "nachtbeeld één.jpg",  # RFC 2047 inside the quotes (non-standard, common)
        "notities.txt",  # a named text part is a file, not body
        "passwd",  # no path components
        "",
        "",
    ]
    photo = parsed.attachments[0]
    assert photo == Attachment("foto1.png", "image/png", 8, "foto1@bedrijf")
    assert parsed.attachments[1].content_type == "application/pdf"
    assert parsed.attachments[1].size == len(b"%PDF-1.4\n")
    assert parsed.attachments[-1].content_type == "message/rfc822"
    assert parsed.attachments[-1].size > 0
    assert parsed.text == "Zie foto"  # from the html: the named text/plain part is an attachment
    assert "het originele bericht" not in parsed.text  # attached messages stay attachments
    assert_storable(parsed)


def test_raw_8bit_filename() -> None:
    raw = (
        b"From: a@example.org\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
        b'Content-Type: application/msword; name="\xe7\xae\xa1\xe7\x90\x86.doc"\r\n'
        b"Content-Disposition: attachment; filename=ci\xeble.doc\r\n\r\nx\r\n--b--\r\n"
    )
    assert [a.filename for a in parse_message(raw).attachments] == ["ciële.doc"]


def test_attachment_only_message() -> None:
    raw = msg(
        "From: a@example.org",
        "Content-Type: application/pdf; name=rapport.pdf",
        "Content-Transfer-Encoding: base64",
        body="JVBERi0xLjQK\n",
    )
    parsed = parse_message(raw)
    assert parsed.text == ""
    assert parsed.attachments == (Attachment("rapport.pdf", "application/pdf", 9, None),)


def test_delivery_status_parts_are_neither_body_nor_attachment() -> None:
    raw = msg(
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>",
        'Content-Type: multipart/report; report-type=delivery-status; boundary="r"',
        "Auto-Submitted: auto-replied",
        body=(
            "--r\nContent-Type: text/plain\n\nDelivery to x@example.org failed.\n"
            "--r\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\n"
            "Final-Recipient: rfc822; x@example.org\nAction: failed\nStatus: 5.1.1\n"
            "--r\nContent-Type: text/rfc822-headers\n\nFrom: industrie@politie.lommel.be\n--r--\n"
        ),
    )
    parsed = parse_message(raw)
    assert parsed.text == "Delivery to x@example.org failed."  # the last CRLF belongs to the boundary
    assert parsed.attachments == ()
    assert parsed.from_mailer_daemon and parsed.auto_submitted


# --- the shared corpus ------------------------------------------------------------------------------------


def test_parses_the_whole_corpus() -> None:
    files = corpus_files("mime") + corpus_files("bounces")
    if not files:
        pytest.skip("mail corpus not present")
    failures: list[str] = []
    for path in files:
        try:
            parsed = parse_message(path.read_bytes())
            assert_storable(parsed)
        except Exception as exc:
            failures.append(f"{path.name}: {exc!r}")
    assert not failures, failures
    assert len(files) > 100


# --- property tests ---------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None, database=None)
@given(st.binary(max_size=3000))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    assert_storable(parse_message(raw))


HEADER_NAMES = [
    "From",
    "Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "References",
    "In-Reply-To",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Content-Disposition",
    "Auto-Submitted",
    "Precedence",
    "List-Id",
]
VALUE_PIECES = [
    "multipart/mixed",
    "multipart/alternative",
    "message/rfc822",
    "text/plain",
    "text/html",
    "image/png",
    "; boundary=b",
    '; boundary="b"',
    "; charset=utf-8",
    "; charset=x-bad",
    "; charset*=utf-8''%FF",
    "; name*0*=utf-8''%C3",
    '; filename="a.pdf"',
    "attachment",
    "inline",
    "base64",
    "quoted-printable",
    "x-uuencode",
    "=?utf-8?q?=C3=A9?=",
    "=?bad?b?!!?=",
    "<a@b>",
    "a@example.org",
    "<",
    ">",
    '"',
    "(",
    ")",
    ";",
    ",",
    " ",
    "\r\n ",
    "\x00",
    "é",
]


@st.composite
def mime_ish(draw: st.DrawFn, depth: int = 0) -> bytes:
    lines = []
    for _ in range(draw(st.integers(0, 6))):
        name = draw(st.sampled_from(HEADER_NAMES))
        value = "".join(draw(st.lists(st.sampled_from(VALUE_PIECES), max_size=5)))
        lines.append(f"{name}: {value}".encode("utf-8", "surrogatepass"))
    head = b"\r\n".join(lines)
    if depth < 3 and draw(st.booleans()):
        boundary = draw(st.sampled_from([b"b", b"c", b""]))
        children = draw(st.lists(mime_ish(depth + 1), max_size=3))
        body = b"".join(b"--" + boundary + b"\r\n" + child + b"\r\n" for child in children)
        body += draw(st.sampled_from([b"--" + boundary + b"--\r\n", b"", b"--b"]))
    else:
        body = draw(
            st.binary(max_size=200) | st.sampled_from([b"SGVsbG8=", b"=E9=ZZ=", b"<p>x</p><blockquote>"])
        )
    return head + draw(st.sampled_from([b"\r\n\r\n", b"\n\n", b"\r\n"])) + body


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(mime_ish())
def test_structured_mime_never_raises(raw: bytes) -> None:
    parsed = parse_message(raw)
    assert_storable(parsed)
    assert not any(d.startswith("internal error") for d in parsed.defects)
