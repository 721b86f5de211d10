"""``save-relay canvass create | list | show | cancel | results | attachment``: canvasses from the CLI.

Registered in ``cli/main.py``; the shared helpers (settings, engine, error handling) are in ``common.py``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.canvass import foureyes
from save_relay.canvass.results import Summary, attachment_name, local_time, summarize, to_csv
from save_relay.canvass.service import awaiting_approval, cancel, create
from save_relay.canvass.spec import RequestError, request_from_fields
from save_relay.cli.common import (
    ReasonOption,
    choose_network,
    cli_actor,
    disclosure_reason,
    fail,
    moderator_actor,
    opened,
    record_disclosure,
    run,
)
from save_relay.core.clock import utcnow
from save_relay.core.context import Context
from save_relay.core.errors import SaveRelayError
from save_relay.mail.attachments import extract
from save_relay.store import approvals
from save_relay.store import canvass as store
from save_relay.store.tables import Canvass

T = TypeVar("T")

canvass_app = typer.Typer(
    help="Canvasses (buurtonderzoek): create, list, show, cancel, results.", no_args_is_help=True
)


@asynccontextmanager
async def _session(write: bool = False) -> AsyncIterator[tuple[Context, AsyncSession]]:
    async with opened() as (ctx, sessions), sessions() as session:
        if write:
            async with session.begin():
                yield ctx, session
        else:
            yield ctx, session


@canvass_app.command("create")
def create_command(
    owner: Annotated[str, typer.Option(help="the moderator who gets the confirmation, answers and summary")],
    near: Annotated[str | None, typer.Option(help="'51.2412, 5.3107' or a subscriber's name")] = None,
    radius: Annotated[str | None, typer.Option(help="e.g. '1.5 km' or '800 m'")] = None,
    zones: Annotated[
        str | None, typer.Option(help="comma-separated zones (instead of or with --near)")
    ] = None,
    window: Annotated[str | None, typer.Option(help="when it happened: '2026-11-21 02:00 - 04:00'")] = None,
    send: Annotated[
        str, typer.Option(help="'now', 'YYYY-MM-DD HH:MM' (local) or a delay such as '2h'")
    ] = "now",
    remind: Annotated[str | None, typer.Option(help="reminder to non-responders after e.g. '24h'")] = None,
    close: Annotated[str, typer.Option(help="summary to the owner after e.g. '72h'")] = "72h",
    title: Annotated[str, typer.Option(help="subject line (default: the question's start)")] = "",
    question: Annotated[str | None, typer.Option(help="the question")] = None,
    question_file: Annotated[Path | None, typer.Option(help="file with the question")] = None,
    network: Annotated[str | None, typer.Option("--network", "-n", help="network key")] = None,
    as_: Annotated[
        str | None,
        typer.Option("--as", help="the moderator approving it (four-eyes; default: the owner)"),
    ] = None,
) -> None:
    """Schedule a canvass; the owner gets a confirmation (reply 'cancel' to it to call it off).

    Above four_eyes.canvass_companies_above companies it waits for a second moderator: canvass approve.
    """
    text = question_file.read_text(encoding="utf-8") if question_file else (question or "")
    given = {"near": near, "radius": radius, "zones": zones, "window": window}
    fields = {key: value for key, value in given.items() if value is not None}
    fields |= {"send": send, "close": close} | ({"remind": remind} if remind else {})

    async def go() -> str:
        async with _session(write=True) as (ctx, session):
            ref = choose_network(ctx, network)
            try:
                request = request_from_fields(
                    fields, title=title, question=text, tz=ZoneInfo(ref.settings.timezone), now=utcnow()
                )
            except RequestError as exc:
                raise SaveRelayError(str(exc)) from None
            actor = moderator_actor(ref, as_) if as_ else cli_actor()
            canvass, count = await create(session, ctx, ref, request, owner=owner, actor=actor)
            send_at = local_time(canvass.send_at, ref.settings.timezone)
        if awaiting_approval(canvass):
            return (
                f"canvass {canvass.id} waits for a second moderator (four-eyes): {count} recipient(s) "
                f"as of now; another moderator runs: save-relay canvass approve {canvass.id} --as ADDRESS"
            )
        return f"canvass {canvass.id} scheduled: {count} recipient(s) as of now, sent at {send_at}"

    typer.echo(run(go))


@canvass_app.command("list")
def list_command(
    status: Annotated[str | None, typer.Option(help="scheduled, open, reminded, closed, cancelled")] = None,
) -> None:
    """Canvasses, newest first."""

    async def go() -> list[str]:
        async with _session() as (ctx, session):
            lines = []
            for c in await store.list_canvasses(session, status):
                tz = ctx.network(c.network_id).settings.timezone if c.network_id in ctx.by_id else "UTC"
                answered = (await store.response_counts(session, c.id))[1]
                send, close = local_time(c.send_at, tz), local_time(c.close_at, tz)
                lines.append(
                    f"{c.id:>5}  {c.status:<9} send {send}  close {close}  {answered}/{c.recipients} answered"
                    f"  {c.owner:<30.30} {c.title[:50]}"
                )
            return lines or ["no canvasses"]

    typer.echo("\n".join(run(go)))


def _describe(canvass: Canvass, summary: Summary, tz: str) -> dict[str, object]:
    return {
        "id": canvass.id,
        "status": canvass.status,
        "title": canvass.title,
        "owner": canvass.owner,
        "place": canvass.place,
        "point": [canvass.latitude, canvass.longitude] if canvass.latitude is not None else None,
        "radius_m": canvass.radius_m,
        "zones": canvass.zones,
        "window": [local_time(canvass.window_start, tz), local_time(canvass.window_end, tz)],
        "send": local_time(canvass.send_at, tz),
        "remind": local_time(canvass.remind_at, tz),
        "close": local_time(canvass.close_at, tz),
        "sent": local_time(canvass.sent_at, tz),
        "recipients": summary.recipients if canvass.sent_at else None,
        "responses": summary.responses,
        "rate": round(summary.rate, 3),
        "question": canvass.question,
    }


@canvass_app.command("show")
def show_command(canvass_id: int, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """One canvass: where, when, the question, and how many answered."""

    async def go() -> dict[str, object]:
        async with _session() as (ctx, session):
            canvass = await store.get(session, canvass_id)
            tz = ctx.network(canvass.network_id).settings.timezone
            shown = _describe(canvass, await summarize(session, canvass, tz), tz)
            waiting = await approvals.waiting_for_canvass(session, canvass_id)
            if waiting is not None:  # four-eyes: before the question
                shown = {key: shown[key] for key in shown if key != "question"} | {
                    "four-eyes": f"waits for a second moderator (first: {waiting.first_by}, "
                    f"lapses {local_time(waiting.expires_at, tz)})",
                    "question": shown["question"],
                }
            return shown

    info = run(go)
    if as_json:
        typer.echo(json.dumps(info, indent=2, ensure_ascii=False))
        return
    for key, value in info.items():
        if key != "question":
            typer.echo(f"{key + ':':<11} {value if value not in (None, '') else '-'}")
    typer.echo(f"\n{info['question']}")


@canvass_app.command("approve")
def approve_command(
    canvass_id: int,
    as_: Annotated[str, typer.Option("--as", help="the second moderator (not the one who made it)")],
) -> None:
    """Confirm a canvass that waits for a second moderator (four-eyes); it then goes out at its time."""

    async def go() -> str:
        async with _session(write=True) as (ctx, session):
            canvass = await store.get(session, canvass_id, lock=True)
            actor = moderator_actor(ctx.network(canvass.network_id), as_)
            return await foureyes.approve(session, ctx, canvass, actor)

    typer.echo(run(go))


@canvass_app.command("cancel")
def cancel_command(canvass_id: int) -> None:
    """Cancel a canvass that has not been sent yet."""

    async def go() -> str:
        async with _session(write=True) as (ctx, session):
            await cancel(session, ctx, await store.get(session, canvass_id, lock=True), cli_actor())
        return f"canvass {canvass_id} cancelled"

    typer.echo(run(go))


async def _attachments(session: AsyncSession, summary: Summary) -> list[tuple[str, bytes]]:
    """Every attachment of the answers, as ``(answer-<id>-<n>-<file name>, bytes)``."""
    found: list[tuple[str, bytes]] = []
    for answer in summary.answers:
        if answer.attachments:
            raw = await store.answer_raw(session, answer.id)
            found += [
                (attachment_name(answer.id, n, item.filename), item.data)
                for n, item in enumerate(extract(raw or b""), start=1)
            ]
    return found


def _write(folder: Path, files: list[tuple[str, bytes]]) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, str] = {}
    for name, data in files:
        (folder / name).write_bytes(data)
        paths[name] = str(folder / name)
    return paths


@canvass_app.command("results")
def results_command(
    canvass_id: int,
    as_csv: Annotated[
        bool, typer.Option("--csv", help="one row per answer and per silent recipient")
    ] = False,
    save_attachments: Annotated[
        Path | None, typer.Option(help="write the attachments into this folder")
    ] = None,
    reason: ReasonOption = None,
) -> None:
    """Recipients, responses and the answers (with their attachments), as text or CSV.

    This discloses what people answered: it needs --reason (or [privacy] default_reason), kept in the
    audit log.
    """
    why = disclosure_reason(reason)

    async def go() -> tuple[Summary, list[tuple[str, bytes]]]:
        async with _session(write=True) as (ctx, session):
            canvass = await store.get(session, canvass_id)
            record_disclosure(
                session,
                command="canvass results",
                reason=why,
                object_ref=store.ref(canvass_id),
                network_id=canvass.network_id,
            )
            summary = await summarize(session, canvass, ctx.network(canvass.network_id).settings.timezone)
            return summary, await _attachments(session, summary) if save_attachments else []

    summary, files = run(go)
    paths = _write(save_attachments, files) if save_attachments else {}
    if as_csv:
        typer.echo(to_csv(summary, paths), nl=False)
        return
    lines = [
        f"canvass {summary.canvass_id} ({summary.status}): {summary.title}",
        f"recipients {summary.recipients} ({summary.addresses} addresses), "
        f"responses {summary.responses} ({summary.rate:.0%})",
    ]
    for a in summary.answers:
        lines.append(f"\n#{a.id} {a.company} <{a.address}> {a.received}{' (late)' if a.late else ''}")
        lines += [f"    {line}" for line in (a.text or "(no text)").splitlines()]
        lines += [f"    attachment {paths.get(f.name, f.name)} ({f.size} bytes)" for f in a.attachments]
    lines.append(f"\nno answer ({len(summary.silent)}): " + ", ".join(p.company for p in summary.silent))
    typer.echo("\n".join(lines))


@canvass_app.command("attachment")
def attachment_command(
    answer_id: int,
    number: int,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="file to write (default: its name)")
    ] = None,
    reason: ReasonOption = None,
) -> None:
    """Save attachment NUMBER (1, 2, ...) of answer ANSWER_ID to a file.

    This discloses what a person sent: it needs --reason (or [privacy] default_reason), kept in the
    audit log.
    """
    why = disclosure_reason(reason)

    async def go() -> bytes | None:
        async with _session(write=True) as (_, session):
            record_disclosure(
                session,
                command="canvass attachment",
                reason=why,
                object_ref=f"answer:{answer_id}",
                attachment=number,
            )
            return await store.answer_raw(session, answer_id)

    raw = run(go)
    if raw is None:
        raise fail(f"no answer {answer_id}")
    found = extract(raw)
    if not 1 <= number <= len(found):
        raise fail(f"answer {answer_id} has {len(found)} attachment(s)")
    item = found[number - 1]
    path = output or Path(attachment_name(answer_id, number, item.filename))
    path.write_bytes(item.data)
    typer.echo(f"written: {path}")
