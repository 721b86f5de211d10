"""``save-relay audit verify | list``: the hash-chained audit log from the command line."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer

from save_relay.cli.common import opened, run
from save_relay.core.chain import Report
from save_relay.core.clock import as_utc
from save_relay.store import audit
from save_relay.store.tables import AuditEntry

audit_app = typer.Typer(help="The audit log: verify its hash chain, list entries.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify() -> None:
    """Walk the hash chain; name the first entry that was changed, removed or inserted, and exit 1.

    Entries pseudonymised by `privacy erase` pass (the erasure chains the digests of what it rewrote).
    The last line gives the head hash: write it down elsewhere to anchor the log at a point in time.
    """

    async def go() -> Report:
        async with opened() as (_ctx, sessions), sessions() as session:
            return await audit.verify(session)

    result = run(go)
    if result.broken is not None:
        typer.secho(result.broken.line(), err=True, fg=typer.colors.RED)
        typer.echo(f"{result.checked} entries intact before it")
        raise typer.Exit(1)
    typer.echo(f"audit chain intact: {result.checked} entries ({result.redacted} pseudonymised by erasure)")
    typer.echo(f"head: {result.head_hash}")


def _line(entry: AuditEntry) -> str:
    when = as_utc(entry.at).isoformat(timespec="seconds")
    detail = json.dumps(entry.detail, ensure_ascii=False, sort_keys=True) if entry.detail else ""
    parts = [str(entry.id), when, entry.action, entry.actor, entry.via, entry.object_ref or "-", detail]
    return "  ".join(parts).rstrip()


@audit_app.command("list")
def audit_list(
    action: Annotated[str | None, typer.Option(help="only this action (e.g. report_approved)")] = None,
    actor: Annotated[str | None, typer.Option(help="only this actor (address or cli:login)")] = None,
    ref: Annotated[
        str | None, typer.Option("--ref", help="only entries about this object (report ref)")
    ] = None,
    since: Annotated[datetime | None, typer.Option(help="only entries at or after (UTC)")] = None,
    limit: Annotated[int, typer.Option(min=1, help="at most this many, the newest")] = 100,
    hashes: Annotated[bool, typer.Option("--hashes", help="also show each entry's chain hash")] = False,
) -> None:
    """List audit entries, oldest first: id, time, action, actor, via, object, detail."""

    async def go() -> list[AuditEntry]:
        async with opened() as (_ctx, sessions), sessions() as session:
            return await audit.listing(
                session,
                action=action,
                actor=actor,
                object_ref=ref,
                since=as_utc(since) if since else None,
                limit=limit,
            )

    for entry in run(go):
        typer.echo(_line(entry) + (f"  {entry.entry_hash}" if hashes else ""))
