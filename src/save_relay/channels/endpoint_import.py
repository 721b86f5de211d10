"""The CSV import of webhook endpoints (``save-relay webhooks import FILE``): one row per endpoint.

A file of its own rather than a column of the subscriber CSV: an endpoint belongs to an organisation's
control room, not to a company's address, and has several fields (URL, events, zones) that one column
could not hold. Columns (a header line; ``name`` and ``url`` required, the others may be left out):

    name,organisation,url,events,zones,enabled

``events`` and ``zones`` are lists separated by ``;`` as in the subscriber CSV (empty: every event,
every zone); ``enabled`` is yes/no (default yes). The file is checked whole first: any problem is
listed with its line and nothing changes. Then a new name is added with a fresh secret (returned, to
be shown once), a known name is updated (its secret stays: ``rotate`` changes it), and endpoints the
file does not name are kept.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.channels.endpoints import EndpointError, Wanted, add, checked, update
from save_relay.core.context import NetworkRef
from save_relay.core.errors import SaveRelayError
from save_relay.store import webhook_endpoints

COLUMNS = ("name", "organisation", "url", "events", "zones", "enabled")
YES = frozenset({"", "yes", "ja", "oui", "true", "1", "y", "j"})
NO = frozenset({"no", "nee", "non", "false", "0", "n"})


class ImportProblems(SaveRelayError):
    """The file was not imported; ``problems``: one line per problem (``line N: ...``)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass
class EndpointImport:
    """What an import did: the new endpoints with their secrets, the updated and unchanged names."""

    added: list[tuple[str, str]] = field(default_factory=list)  # (name, secret): show once
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(";") if v.strip())


def parse(text: str) -> list[tuple[int, Wanted]]:
    """The rows of ``text`` with their line numbers; ImportProblems for a bad header or ``enabled``."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    unknown = [h for h in header if h not in COLUMNS]
    if "name" not in header or "url" not in header or unknown:
        raise ImportProblems([f"line 1: the header must name name and url, and only {', '.join(COLUMNS)}"])
    rows: list[tuple[int, Wanted]] = []
    problems: list[str] = []
    for raw in reader:
        line = reader.line_num
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if isinstance(v, str)}
        if not any(row.values()):
            continue
        state = row.get("enabled", "").lower()
        if state not in YES | NO:
            problems.append(f"line {line}: enabled must be yes or no, not {state!r}")
            continue
        wanted = Wanted(
            name=row.get("name", ""),
            url=row.get("url", ""),
            organisation=row.get("organisation", ""),
            events=_split(row.get("events")),
            zones=_split(row.get("zones")),
            enabled=state in YES,
        )
        rows.append((line, wanted))
    if problems:
        raise ImportProblems(problems)
    return rows


async def import_endpoints(session: AsyncSession, network: NetworkRef, text: str) -> EndpointImport:
    """Check every row, then apply them all in the caller's transaction (ImportProblems: nothing done)."""
    rows = parse(text)
    problems: list[str] = []
    seen: set[str] = set()
    for line, wanted in rows:
        try:
            good = await checked(session, network, wanted)
        except EndpointError as refused:
            problems.append(f"line {line}: {refused}")
            continue
        if good.name in seen:
            problems.append(f"line {line}: {good.name!r} is named twice")
        elif network.settings.webhook(good.name) is not None:
            problems.append(f"line {line}: {good.name!r} is an endpoint of the settings")
        seen.add(good.name)
    if problems:
        raise ImportProblems(problems)
    done = EndpointImport()
    for _, wanted in rows:
        row = await webhook_endpoints.by_name(session, network.id, wanted.name.strip().lower())
        if row is None:
            new, secret = await add(session, network, wanted)
            done.added.append((new.name, secret))
        elif await update(session, network, row, wanted):
            done.updated.append(row.name)
        else:
            done.unchanged.append(row.name)
    return done
