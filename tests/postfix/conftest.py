"""Fixtures for the tests with a real Postfix in front of (and behind) save-relay.

Without Debian's postfix (postfix, postmap, postqueue, postconf), or when not root (Postfix's master
runs as root and drops to the postfix user), these tests are skipped on a developer's machine
(``make system-deps`` installs it) but FAIL in CI (``CI=true``), where ``scripts/install-system-deps.sh``
must have run. No system Postfix is used or needed: each test starts its own instance in a temp dir.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postfix.instance import Postfix, postfix_sbin


@pytest.fixture(scope="session")
def postfix_path() -> Path:
    sbin = postfix_sbin()
    reason = None
    if sbin is None:
        reason = "postfix is not installed (run `make system-deps`: Debian's postfix)"
    elif os.geteuid() != 0:
        reason = "a Postfix instance must be started as root"
    if reason is not None:
        if os.environ.get("CI", "").lower() in {"true", "1", "yes"}:
            pytest.fail(f"CI must run the Postfix tests: {reason}")
        pytest.skip(reason)
    assert sbin is not None
    return sbin


@pytest.fixture
def postfix(postfix_path: Path) -> Iterator[Postfix]:
    """An unconfigured instance (``configure()`` and ``start()`` it); stopped and removed afterwards."""
    instance = Postfix(postfix_path)
    try:
        yield instance
    finally:
        instance.stop()
        instance.remove()
