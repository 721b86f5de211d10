"""Where the templates and migrations are: inside the wheel, or at the top of a source checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # save_relay/, from core/


def _find(name: str) -> Path:
    for candidate in (_PACKAGE / name, _PACKAGE.parent.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"save-relay's {name}/ folder is missing from the installation")


def templates_dir() -> Path:
    return _find("templates")


def migrations_dir() -> Path:
    return _find("migrations")
