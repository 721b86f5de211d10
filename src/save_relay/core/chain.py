"""The audit log's hash chain, pure: canonical content, digests, links, and the walk that checks them.

Each entry stores three hashes: ``content_hash``, the SHA-256 of its canonical content when it was
written; ``prev_hash``, the previous entry's ``entry_hash`` (``GENESIS`` for the first); and
``entry_hash = SHA-256(prev_hash ":" content_hash)``. The chain links the *digests*, not the rows, so
that an erasure may pseudonymise a row's content without breaking the links: the erasure appends an
``audit_redacted`` entry (chained like any other) that records, for every row it rewrote, the digest of
the new content. A row is intact when its content hashes to its own ``content_hash`` or to the digest a
chained redaction recorded for it; anything else is a change. A ``head`` (the last entry's id and hash,
kept in its own row) catches the removal of the last entries and rows appended outside the chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from save_relay.core.clock import as_utc

GENESIS = "0" * 64
#: The action of the entry an erasure appends; its detail maps rewritten entry ids to new digests.
REDACTED = "audit_redacted"


def canonical(fields: Mapping[str, Any]) -> bytes:
    """One byte string per content: keys sorted, no spaces, UTF-8, datetimes as UTC ISO 8601."""

    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return as_utc(value).isoformat(timespec="microseconds")
        return value

    return json.dumps(
        {key: plain(value) for key, value in fields.items()},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    ).encode("utf-8")


def content_digest(fields: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(fields)).hexdigest()


def link(prev_hash: str, content_hash: str) -> str:
    return hashlib.sha256(f"{prev_hash}:{content_hash}".encode("ascii")).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class Sealed:
    content_hash: str
    prev_hash: str
    entry_hash: str


def seal(prev_hash: str, fields: Mapping[str, Any]) -> Sealed:
    """The hashes of a new entry with content ``fields`` after an entry whose hash is ``prev_hash``."""
    digest = content_digest(fields)
    return Sealed(content_hash=digest, prev_hash=prev_hash, entry_hash=link(prev_hash, digest))


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """An entry as read back: its id, the digest of its content now, and its stored hashes."""

    id: int
    action: str
    digest_now: str
    content_hash: str | None
    prev_hash: str | None
    entry_hash: str | None
    detail: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Break:
    """The first entry where the chain does not hold, and what happened there."""

    entry_id: int
    what: str  # "changed", "removed" (an entry before this one), "inserted"

    def line(self) -> str:
        if self.what == "removed":
            return f"audit entry before {self.entry_id} was removed (the chain breaks at {self.entry_id})"
        return f"audit entry {self.entry_id} was {self.what}"


@dataclass(frozen=True, slots=True)
class Report:
    checked: int
    redacted: int
    head_hash: str
    broken: Break | None


def redactions(rows: Iterable[Row]) -> dict[int, set[str]]:
    """Entry id -> digests its content may have after an erasure, from the redaction entries whose own
    content is intact (a forged redaction is itself a changed entry)."""
    allowed: dict[int, set[str]] = {}
    for row in rows:
        if row.action == REDACTED and row.digest_now == row.content_hash:
            for key, digest in dict(row.detail.get("rewritten", {})).items():
                allowed.setdefault(int(key), set()).add(str(digest))
    return allowed


def _linked(row: Row, prev: str) -> bool:
    return (
        row.prev_hash == prev
        and row.content_hash is not None
        and row.entry_hash == link(prev, row.content_hash)
    )


def _break_at(rows: Sequence[Row], index: int, prev: str, before: str) -> Break:
    """Name what happened at ``rows[index]``, whose link to ``prev`` does not hold (``before``: the hash
    the previous row linked to)."""
    row = rows[index]
    following = rows[index + 1] if index + 1 < len(rows) else None
    if row.prev_hash is None or (following is not None and following.prev_hash == prev):
        return Break(row.id, "inserted")  # unchained, or skipping it mends the chain
    if index > 0 and row.prev_hash == before:
        return Break(rows[index - 1].id, "inserted")  # the previous row sits where nothing was
    if row.prev_hash == prev:
        return Break(row.id, "changed")  # its place is right, its hashes were rewritten
    return Break(row.id, "removed")


def _head_break(rows: Sequence[Row], head: tuple[int, str], prev: str) -> Break | None:
    head_id, head_hash = head
    last_id = rows[-1].id if rows else 0
    if (head_id, head_hash) == (last_id, prev):
        return None
    if head_id < last_id:
        return Break(next(row.id for row in rows if row.id > head_id), "inserted")
    if head_id > last_id:
        return Break(head_id, "removed")
    return Break(last_id, "changed")


def walk(rows: Sequence[Row], head: tuple[int, str] | None) -> Report:
    """Check ``rows`` (in id order) against each other and against ``head`` (last id, last hash)."""
    allowed = redactions(rows)
    prev = before = GENESIS
    redacted = 0
    for index, row in enumerate(rows):
        if not _linked(row, prev):
            return Report(index, redacted, prev, _break_at(rows, index, prev, before))
        if row.digest_now != row.content_hash:
            if row.digest_now not in allowed.get(row.id, ()):
                return Report(index, redacted, prev, Break(row.id, "changed"))
            redacted += 1
        before, prev = prev, row.entry_hash or GENESIS
    broken = _head_break(rows, head, prev) if head is not None else None
    return Report(len(rows), redacted, prev, broken)
