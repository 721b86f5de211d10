"""docs/examples/ is made by scripts/example_mails.py: the script runs the relay of the example config
end to end (SMTP on loopback, SQLite, Maildir outbox), and what it writes shows the promises: the
distribution carries neither the reporter's signature nor the photo's EXIF/GPS, the notification shows
the moderator what was removed. The committed files are checked for the same facts."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("example_mails", ROOT / "scripts/example_mails.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _check(folder: Path) -> None:
    report = (folder / "report.txt").read_text(encoding="utf-8")
    notification = (folder / "notification.txt").read_text(encoding="utf-8")
    distribution = (folder / "distribution.txt").read_text(encoding="utf-8")
    assert "+32 11 55 55 55" in report and "GPS position" in report  # what the reporter sent
    assert "Reply-To: industrie+confirm-TOKEN@politie.lommel.be" in notification
    assert "Wat de abonnees krijgen" in notification and "GPS-positie" in notification  # what was removed
    assert "Reply-To: industrie+followup-TOKEN@politie.lommel.be" in distribution
    for leak in ("Jan Vos", "+32 11 55 55 55", "security@metaalwerken-vos.example", "GPS position", "iPhone"):
        assert leak not in distribution, leak
    assert "no metadata (no EXIF, no GPS)" in distribution and "200 kg koperkabel" in distribution


def test_the_script_shows_what_leaves_and_what_does_not(tmp_path: Path) -> None:
    written = _script().main(tmp_path)
    assert [p.name for p in written] == ["report.txt", "notification.txt", "distribution.txt"]
    _check(tmp_path)


def test_the_committed_examples_show_the_same() -> None:
    _check(ROOT / "docs/examples")
