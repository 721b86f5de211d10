"""``save-relay cap REF``: an approved report as a CAP 1.2 alert, and the short text for BE-Alert.

``--update`` and ``--cancel`` issue an Update or a Cancel that references the earlier messages (kept in
the audit log, so that the HTTP feed serves the latest); ``--text`` writes the ≤160-character text
for the zone's BE-Alert operator beside the CAP file (``FILE.txt``), or prints it without ``-o``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from save_relay.channels import alerts
from save_relay.channels.cap import MsgType, to_xml
from save_relay.cli.common import actor_name, choose_network, fail, opened, run


def cap(
    reference: Annotated[str, typer.Argument(help="the report's reference, e.g. SAVE-2026-000123")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write the CAP XML to FILE")] = None,
    text: Annotated[
        bool, typer.Option("--text", help="the ≤160-character BE-Alert text (beside -o FILE as FILE.txt)")
    ] = False,
    update: Annotated[bool, typer.Option("--update", help="issue an Update of the alert")] = False,
    cancel: Annotated[bool, typer.Option("--cancel", help="issue a Cancel of the alert")] = False,
    radius: Annotated[
        float | None,
        typer.Option("--radius", help="metres around the incident's place, for a report without zones"),
    ] = None,
    network_key: Annotated[str | None, typer.Option("--network", help="the network (if several)")] = None,
) -> None:
    """Write an approved report as a CAP 1.2 alert (status Exercise for an exercise)."""
    if update and cancel:
        raise fail("give --update or --cancel, not both")
    if radius is not None and radius <= 0:
        raise fail("--radius must be more than 0 metres")
    kind: MsgType | None = "Update" if update else "Cancel" if cancel else None

    async def go() -> tuple[bytes, str]:
        async with opened() as (ctx, sessions), sessions() as session, session.begin():
            network = choose_network(ctx, network_key)
            report = await alerts.approved_report(session, network, reference)
            if kind is not None:
                await alerts.issue(session, network, report, kind, actor_name(), "cli")
                await session.flush()
            alert = await alerts.latest(session, network, report, radius)
            return to_xml(alert), alerts.operator_text(network, report, alert)

    xml, short = run(go)
    if output is None:
        typer.echo(short if text else xml.decode("utf-8"), nl=text)
        return
    written = [str(output)]
    try:
        output.write_bytes(xml)
        if text:
            beside = output.with_suffix(".txt")
            beside.write_text(short + "\n", encoding="utf-8")
            written.append(str(beside))
    except OSError as exc:
        raise fail(f"cannot write {exc.filename}: {exc.strerror}") from None
    typer.echo(f"written: {', '.join(written)}")
