"""Locate the shared mail corpus (real messages from other projects' suites), when it is present."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"


def corpus_dir(kind: str) -> Path:
    """Return ``../shared/corpus/<kind>`` or skip the calling test when the corpus is absent."""
    path = CORPUS / kind
    if not path.is_dir():
        pytest.skip(f"mail corpus not present at {path}")
    return path


def corpus_files(kind: str, pattern: str = "*") -> list[Path]:
    """The corpus files of one kind, sorted; empty when the corpus is absent (tests then skip)."""
    path = CORPUS / kind
    if not path.is_dir():
        return []
    return sorted(p for p in path.glob(pattern) if p.is_file())
