"""Bounce classification: hand-written DSNs in the shapes Postfix, Exim, Exchange and Gmail produce, and the
shared corpus of real ones measured against its EXPECTED.tsv."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from save_relay.delivery.dsn import classify
from tests.corpus import CORPUS, corpus_files

DATA = Path(__file__).resolve().parents[1] / "data" / "bounces"
FAILED = "jan.peeters@kempen-staal.example"

#: file -> (kind, failed addresses the classifier must name)
SAMPLES: dict[str, tuple[str, set[str]]] = {
    "postfix_user_unknown.eml": ("permanent", {FAILED}),
    "postfix_delayed.eml": ("temporary", {FAILED}),
    "exim_failed.eml": ("permanent", {FAILED}),
    "exim_delayed.eml": ("temporary", set()),  # a text warning: the VERP token names the address
    "exchange_ndr.eml": ("permanent", {FAILED}),
    "gmail_no_such_user.eml": ("permanent", {FAILED}),
    "gmail_delay.eml": ("temporary", {FAILED}),
    "exchange_out_of_office.eml": ("none", set()),
    "gmail_vacation.eml": ("none", set()),
}

#: Sources in EXPECTED.tsv that say "this is no bounce at all".
NOT_A_BOUNCE = ("not a bounce", "not a failure", "ARF", "MDN")
#: Agreement achieved when this test was written: 327 of 345 (94.8 %); the floor sits just below.
CORPUS_FLOOR = 0.94


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_hand_written_samples(name: str) -> None:
    kind, addresses = SAMPLES[name]
    verdict = classify((DATA / name).read_bytes(), null_sender=kind != "none")
    assert verdict.kind == kind, verdict
    assert addresses <= verdict.addresses
    if kind != "none":
        assert verdict.diagnostic or verdict.why


def test_every_sample_file_has_an_expectation() -> None:
    assert {p.name for p in DATA.glob("*.eml")} == set(SAMPLES)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe garbage",
        b"Content-Type: multipart/report; boundary=x\n\n--x\n",
        b"Subject: 550\n\nhi",
    ],
)
def test_garbage_is_no_bounce_and_never_raises(raw: bytes) -> None:
    assert classify(raw).kind == "none"


def test_an_unreadable_bounce_from_a_mailer_daemon_counts_as_permanent() -> None:
    raw = b"From: MAILER-DAEMON@mx.example\nSubject: Returned mail\n\nSorry, it did not work out.\n"
    verdict = classify(raw, null_sender=True)
    assert (verdict.kind, verdict.why) == ("permanent", "unrecognised bounce")


def _expectations() -> list[tuple[Path, str, set[str]]]:
    table = CORPUS / "bounces" / "EXPECTED.tsv"
    if not table.is_file():
        return []
    out = []
    with table.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            kind = row["kind"] or (
                "none" if any(n in row["source_of_expectation"] for n in NOT_A_BOUNCE) else ""
            )
            if kind:
                addresses = {a.strip().lower() for a in row["failed_addresses"].split(",") if a.strip()}
                out.append((CORPUS / "bounces" / row["file"], kind, addresses))
    return out


def test_corpus_agreement() -> None:
    """Kind (permanent, temporary, no bounce) right and, where the source names them, the same addresses."""
    if not corpus_files("bounces"):
        pytest.skip("mail corpus not present")
    cases = _expectations()
    assert len(cases) > 300
    wrong = []
    for path, kind, addresses in cases:
        verdict = classify(path.read_bytes())
        if verdict.kind != kind or (addresses and addresses != set(verdict.addresses)):
            wrong.append(
                f"{path.name}: expected {kind} {sorted(addresses)}, "
                f"got {verdict.kind} {sorted(verdict.addresses)}"
            )
    agreement = 1 - len(wrong) / len(cases)
    assert agreement >= CORPUS_FLOOR, f"{agreement:.3f} < {CORPUS_FLOOR}:\n" + "\n".join(wrong)


def test_corpus_files_all_classify_without_raising() -> None:
    files = corpus_files("bounces", "*.*")
    if not files:
        pytest.skip("mail corpus not present")
    kinds = {classify(path.read_bytes()).kind for path in files if path.suffix != ".tsv"}
    assert kinds == {"permanent", "temporary", "none"}
