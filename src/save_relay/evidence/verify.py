"""Re-check a bundle: the manifest, the received mail against the SHA-256 stored at intake, and each
audit entry against its own chain hashes (the database's ``audit verify`` shows they are in the chain)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from save_relay.core import chain
from save_relay.evidence.bundle import check
from save_relay.store.tables import AuditEntry


def _received(files: Mapping[str, bytes]) -> list[str]:
    if "report.json" not in files or "report.eml" not in files:
        return []
    stored = json.loads(files["report.json"])["received"]["sha256"]
    if hashlib.sha256(files["report.eml"]).hexdigest() != stored:
        return [f"report.eml: its SHA-256 is not the one stored at intake ({stored})"]
    return []


def _entry(entry: Mapping[str, Any]) -> str | None:
    if entry.get("content_hash") is None:
        return f"audit.json: entry {entry.get('id')} is not chained"
    if entry.get("entry_hash") != chain.link(str(entry.get("prev_hash")), str(entry["content_hash"])):
        return f"audit.json: entry {entry.get('id')}: its hashes do not link"
    return None


def notes(files: Mapping[str, bytes]) -> list[str]:
    """Audit entries whose content no longer hashes to their digest: pseudonymised by an erasure (which
    ``audit verify`` on the database accepts) or changed; not a failure of the bundle by itself."""
    if "audit.json" not in files:
        return []
    return [
        f"audit entry {e.get('id')}: content differs from its chained digest (pseudonymised by an erasure, "
        "or changed: audit verify on the database tells which)"
        for e in json.loads(files["audit.json"])
        if e.get("content_hash")
        and chain.content_digest({name: e.get(name) for name in AuditEntry.CHAINED}) != e["content_hash"]
    ]


def problems(files: Mapping[str, bytes]) -> list[str]:
    """Every problem of a bundle, one line each; empty when it holds."""
    found = check(files)
    if found:
        return found
    found += _received(files)
    if "audit.json" in files:
        found += [p for e in json.loads(files["audit.json"]) if (p := _entry(e))]
    return found
