"""``save-relay queue list | show | raw | attachment | approve | reject | set | hold``: the moderation
queue without a mail program."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from save_relay.cli.common import (
    ReasonOption,
    cli_actor,
    disclosure_reason,
    fail,
    log_disclosure,
    moderator_actor,
    opened,
    run,
    split,
)
from save_relay.core.context import Context
from save_relay.core.errors import CommandRefused
from save_relay.core.states import ReportStatus
from save_relay.core.tlp import Label
from save_relay.core.tlp import parse as parse_label
from save_relay.mail.attachments import extract, safe_filename
from save_relay.mail.commands import IncidentChange
from save_relay.membership.holds import set_hold
from save_relay.moderation.decide import Decision, decide
from save_relay.moderation.incident import apply_change
from save_relay.moderation.labels import NeedsConsent, ask_consent, change_label
from save_relay.moderation.queue import describe
from save_relay.processing.gate import Actor
from save_relay.store.db import SessionFactory
from save_relay.store.health import report_counts
from save_relay.store.reports import ReportRow, inbound_of, list_reports
from save_relay.store.reports import by_reference as get_report

LIST_LIMIT = 200  # list_reports' default

queue_app = typer.Typer(help="The moderation queue.", no_args_is_help=True)


@queue_app.command("list")
def queue_list(
    status: Annotated[
        ReportStatus, typer.Option(help="list the reports with this status", case_sensitive=False)
    ] = ReportStatus.PENDING,
    all_: Annotated[bool, typer.Option("--all", help="every status")] = False,
) -> None:
    """List reports, newest first (the pending ones unless --status or --all)."""

    async def go() -> tuple[list[ReportRow], dict[str, int]]:
        async with opened() as (_, sessions), sessions() as session:
            return await list_reports(session, None if all_ else status), await report_counts(session)

    rows, counts = run(go)
    what = "reports" if all_ else f"{status.value} reports"
    if not rows:
        others = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()) if n and (all_ or s != status))
        typer.echo(f"{what}: none" + (f" ({others}; --all lists every report)" if others else ""))
        return
    typer.echo(f"{what}: {len(rows)}" + (" (the newest 200)" if len(rows) >= LIST_LIMIT else ""))
    for row in rows:
        typer.echo(
            f"{row.reference}  {row.status:<9} {row.received_at:%Y-%m-%d %H:%M}  "
            f"{row.sender:<32.32} {row.subject[:50]}  [{', '.join(row.zones)}]"
        )


@queue_app.command("show")
def queue_show(reference: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show one report: sender, text, attachments, zones, deliveries and its history."""

    async def go() -> dict[str, object]:
        async with opened() as (_, sessions), sessions() as session:
            return await describe(session, reference)

    info = run(go)
    if as_json:
        typer.echo(json.dumps(info, indent=2, ensure_ascii=False))
        return
    for key, value in info.items():
        if key in {"text", "history", "followups", "sms"}:
            continue
        typer.echo(f"{key + ':':<12} {', '.join(map(str, value)) if isinstance(value, list) else value}")
    for key in ("sms", "followups", "history"):
        typer.echo(f"{key}:")
        for line in info[key]:  # type: ignore[attr-defined]
            typer.echo(f"  {line}")
    typer.echo("\n" + str(info["text"]))


OutputOption = Annotated[Path | None, typer.Option("--output", "-o", help="write here")]


def _received(reference: str, reason: str, command: str, **detail: Any) -> tuple[str, bytes, str]:
    """(reference, raw bytes, stored SHA-256) of a report's received mail, the disclosure logged first."""

    async def go() -> tuple[str, bytes, str]:
        async with opened() as (_, sessions):
            async with sessions() as session:
                report = await get_report(session, reference)
                inbound = await inbound_of(session, report)
                found = (report.reference or reference, inbound.raw, inbound.sha256)
                network_id = report.network_id
            await log_disclosure(
                sessions, command=command, reason=reason, object_ref=found[0], network_id=network_id, **detail
            )
            return found

    found = run(go)
    if not found[1]:
        raise fail(
            f"report {found[0]}: its received mail was emptied (retention or erasure); sha256 {found[2]}"
        )
    return found


def _write(data: bytes, output: Path | None) -> None:
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    output.write_bytes(data)
    typer.echo(f"written: {output} ({len(data)} bytes)", err=True)


@queue_app.command("raw")
def queue_raw(reference: str, output: OutputOption = None, reason: ReasonOption = None) -> None:
    """Write a report's mail exactly as received (the stored bytes, checked against their SHA-256).

    This discloses evidence: it needs --reason (or [privacy] default_reason), kept in the audit log.
    """
    ref, raw, sha256 = _received(reference, disclosure_reason(reason), "queue raw")
    if hashlib.sha256(raw).hexdigest() != sha256:
        raise fail(f"report {ref}: the stored mail does not match its SHA-256 {sha256}")
    _write(raw, output)


@queue_app.command("attachment")
def queue_attachment(
    reference: str,
    number: Annotated[int, typer.Argument(help="1 for the first attachment, 2 for the next, ...")],
    output: OutputOption = None,
    reason: ReasonOption = None,
) -> None:
    """Write attachment NUMBER of a report as received (the original, with its metadata).

    This discloses evidence: it needs --reason (or [privacy] default_reason), kept in the audit log.
    """
    why = disclosure_reason(reason)
    ref, raw, _ = _received(reference, why, "queue attachment", attachment=number)
    found = extract(raw)
    if not 1 <= number <= len(found):
        raise fail(f"report {ref} has {len(found)} attachment(s)")
    item = found[number - 1]
    _write(item.data, output or Path(safe_filename(item.filename, f"{ref}-{number}")))


def _label(value: str | None) -> Label | None:
    if value is None:
        return None
    label = parse_label(value)
    if label is None:
        raise fail(f"--tlp {value!r}: not a TLP label (RED, AMBER+STRICT, AMBER, GREEN, CLEAR)")
    return label


async def _as(ctx: Context, report_network_id: int, moderator: str | None) -> Actor:
    """The CLI user, or the moderator ``--as`` names (one of the network's: four-eyes counts persons)."""
    return cli_actor() if moderator is None else moderator_actor(ctx.network(report_network_id), moderator)


def _decide(
    reference: str, *, label: str | None = None, moderator: str | None = None, **decision: Any
) -> None:
    wanted = _label(label)

    async def go() -> str:
        async with opened() as (ctx, sessions):
            try:
                async with sessions() as session, session.begin():
                    report = await get_report(session, reference)
                    actor = await _as(ctx, report.network_id, moderator)
                    if wanted is not None:
                        await change_label(session, report, wanted, actor)
                    applied = await decide(session, ctx, report, Decision(**decision), actor)
            except NeedsConsent as exc:
                await _ask(sessions, ctx, reference, exc, actor)
        if applied.action == "awaiting":
            return (
                f"{applied.reference} approved by {actor.name}, waiting for a second moderator (four-eyes): "
                f"{applied.recipients} recipient(s), TLP:{applied.tlp}; another moderator confirms with "
                f"'save-relay queue approve {applied.reference} --as ADDRESS' or by replying 'ok'"
            )
        if applied.action == "approve":
            to = (
                f"named [{', '.join(applied.named)}]"
                if applied.named
                else f"in zones [{', '.join(applied.zones)}] groups [{', '.join(applied.groups)}]"
            )
            by_sms = f", {applied.sms} SMS" if applied.urgent else ""
            count = f"{applied.recipients} recipient(s)"
            return f"{applied.reference} approved: {count} {to}, TLP:{applied.tlp}{by_sms}"
        return f"{applied.reference} rejected"

    typer.echo(run(go))


async def _ask(
    sessions: SessionFactory, ctx: Context, reference: str, exc: NeedsConsent, actor: Actor
) -> None:
    """A lowering without consent: ask the reporter (committed on its own), then refuse."""
    async with sessions() as session, session.begin():
        report = await get_report(session, reference)
        await ask_consent(session, ctx, report, exc.wanted, actor)
    raise CommandRefused(f"{exc}; once they agree, run the command again") from exc


@queue_app.command("approve")
def queue_approve(
    reference: str,
    zones: Annotated[
        str | None, typer.Option(help="comma-separated zones (default: the proposed ones)")
    ] = None,
    groups: Annotated[str | None, typer.Option(help="comma-separated extra groups")] = None,
    credit: Annotated[bool, typer.Option(help="name the reporter")] = False,
    edit_file: Annotated[Path | None, typer.Option(help="file with the text to send instead")] = None,
    tlp: Annotated[
        str | None,
        typer.Option(help="TLP label: RED, AMBER+STRICT, AMBER, GREEN, CLEAR (lower: with consent)"),
    ] = None,
    recipients: Annotated[
        str | None, typer.Option(help="comma-separated addresses: the only recipients of a TLP:RED report")
    ] = None,
    as_: Annotated[
        str | None, typer.Option("--as", help="the moderator approving (four-eyes: a second one confirms)")
    ] = None,
    urgent: Annotated[
        bool, typer.Option("--urgent", help="also by SMS to the recipients' opted-in mobile numbers")
    ] = False,
    sms: Annotated[
        str | None, typer.Option(help="the SMS's text (implies --urgent; default: a shortened report)")
    ] = None,
) -> None:
    """Approve a pending report and send it to its zones and groups (TLP:RED: to --recipients only);
    --urgent: also by SMS."""
    text = edit_file.read_text(encoding="utf-8") if edit_file else None
    _decide(
        reference,
        label=tlp,
        moderator=as_,
        action="approve",
        zones=split(zones),
        groups=split(groups),
        credit=credit,
        edit_text=text,
        recipients=split(recipients),
        urgent=urgent or bool(sms and sms.strip()),
        sms_text=" ".join(sms.split()) if sms and sms.strip() else None,
    )


@queue_app.command("reject")
def queue_reject(
    reference: str, reason: Annotated[str, typer.Option(help="why (kept in the audit log)")]
) -> None:
    """Reject a pending report."""
    _decide(reference, action="reject", reason=reason)


@queue_app.command("set")
def queue_set(
    reference: str,
    category: Annotated[str | None, typer.Option(help="a category's slug or name (any language)")] = None,
    time: Annotated[
        str | None, typer.Option("--time", help="the incident time: '21/11 03:00', '2026-11-21 03:00'")
    ] = None,
    place: Annotated[str | None, typer.Option(help="'51.24, 5.31', a subscriber's name or a zone")] = None,
    exercise: Annotated[
        bool | None, typer.Option("--exercise/--no-exercise", help="an exercise: left out of stats")
    ] = None,
    tlp: Annotated[
        str | None, typer.Option(help="TLP label; less strict than the reporter's only with their consent")
    ] = None,
) -> None:
    """Set a report's incident category, time, place or exercise mark (statistics), or its TLP label."""
    change = IncidentChange(category=category, time=time, place=place, exercise=exercise)
    wanted = _label(tlp)
    if change == IncidentChange() and wanted is None:
        raise fail("nothing to set: give --category, --time, --place, --exercise/--no-exercise or --tlp")

    async def go() -> dict[str, object]:
        async with opened() as (ctx, sessions):
            try:
                async with sessions() as session, session.begin():
                    report = await get_report(session, reference)
                    network = ctx.network(report.network_id)
                    shown: dict[str, object] = {}
                    if change != IncidentChange():
                        shown = await apply_change(session, network, report, change, cli_actor())
                    if wanted is not None:
                        shown["tlp"] = (await change_label(session, report, wanted, cli_actor())).tag
                    return shown
            except NeedsConsent as exc:
                await _ask(sessions, ctx, reference, exc, cli_actor())
                raise

    shown = run(go)
    typer.echo(f"{reference.strip().upper()}: " + ", ".join(f"{key} {value}" for key, value in shown.items()))


@queue_app.command("hold")
def queue_hold(
    reference: str,
    reason: Annotated[str, typer.Option(help="why (kept in the audit log)")] = "",
    release: Annotated[bool, typer.Option("--release", help="lift the hold")] = False,
    as_: Annotated[
        str | None, typer.Option("--as", help="the moderator releasing (four-eyes: a second one confirms)")
    ] = None,
) -> None:
    """Put a report on an evidence hold: the retention purge and erasures keep it whole."""

    async def go() -> str:
        async with opened() as (ctx, sessions), sessions() as session, session.begin():
            report = await get_report(session, reference)
            rules = ctx.network(report.network_id).settings.four_eyes
            actor = await _as(ctx, report.network_id, as_)
            return await set_hold(
                session,
                reference,
                actor=actor.name,
                reason=reason,
                release=release,
                four_eyes_hours=rules.hours if rules.hold_release else None,
            )

    typer.echo(run(go))
