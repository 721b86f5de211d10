"""``save-relay evidence export | verify``: evidence bundles for an investigator."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from save_relay.cli.common import (
    ReasonOption,
    actor_name,
    disclosure_reason,
    fail,
    opened,
    record_disclosure,
    run,
)
from save_relay.core.errors import SaveRelayError
from save_relay.evidence import bundle
from save_relay.evidence.collect import canvass_files, report_files
from save_relay.evidence.verify import notes, problems
from save_relay.store import canvass as canvass_store
from save_relay.store.reports import by_reference

evidence_app = typer.Typer(
    help="Evidence bundles: export a report or a canvass, verify a bundle.", no_args_is_help=True
)


@evidence_app.command("export")
def evidence_export(
    reference: Annotated[str | None, typer.Argument(help="the report's reference")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="a new folder, or FILE.zip")] = Path("."),
    canvass: Annotated[int | None, typer.Option("--canvass", help="export this canvass instead")] = None,
    reason: ReasonOption = None,
) -> None:
    """Write a report's evidence (the .eml as received, attachments, replies, distributions, audit
    entries with chain hashes, report.json, manifest.sha256) to a folder or a zip.

    This discloses evidence: it needs --reason (or [privacy] default_reason), kept in the audit log.
    Check a bundle with `sha256sum -c manifest.sha256` inside it, or `save-relay evidence verify`.
    """
    if (reference is None) == (canvass is None):
        raise fail("give a report reference or --canvass ID (one of them)")
    if output == Path("."):
        raise fail("say where with -o DIR or -o FILE.zip")
    why = disclosure_reason(reason)

    async def go() -> dict[str, bytes]:
        async with opened() as (_, sessions), sessions() as session, session.begin():
            if canvass is not None:
                found = await canvass_store.get(session, canvass)
                record_disclosure(
                    session,
                    command="evidence export",
                    reason=why,
                    object_ref=canvass_store.ref(canvass),
                    network_id=found.network_id,
                )
                return await canvass_files(session, canvass, exported_by=actor_name(), reason=why)
            report = await by_reference(session, reference or "")
            record_disclosure(
                session,
                command="evidence export",
                reason=why,
                object_ref=report.reference,
                network_id=report.network_id,
            )
            return await report_files(session, reference or "", exported_by=actor_name(), reason=why)

    files = run(go)
    try:
        written = bundle.write(files, output)
    except (SaveRelayError, OSError) as exc:
        raise fail(str(exc)) from None
    typer.echo(f"written: {written} ({len(files) + 1} files; check with: sha256sum -c {bundle.MANIFEST})")


@evidence_app.command("verify")
def evidence_verify(path: Annotated[Path, typer.Argument(help="a bundle folder or zip")]) -> None:
    """Re-check a bundle: every file against the manifest, the .eml against the SHA-256 stored at
    intake, each audit entry against its chain hashes. Exits 1 and names each problem."""
    try:
        files = bundle.read(path)
    except SaveRelayError as exc:
        raise fail(str(exc)) from None
    found = problems(files)
    for line in notes(files):
        typer.echo(f"note: {line}")
    for line in found:
        typer.secho(line, err=True, fg=typer.colors.RED)
    if found:
        raise typer.Exit(1)
    typer.echo(f"bundle intact: {path}")
