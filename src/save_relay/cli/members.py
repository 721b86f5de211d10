"""``save-relay subscribers | zones | privacy ...``: membership and personal data from the command line.

Registered in ``cli/main.py``; the shared helpers (settings, engine, error handling) are in ``common.py``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.cli.common import (
    ReasonOption,
    actor_name,
    choose_network,
    database,
    disclosure_reason,
    fail,
    opened,
    record_disclosure,
    run,
    settings,
)
from save_relay.core.clock import utcnow
from save_relay.core.context import Context, NetworkRef
from save_relay.core.errors import NotFound, SaveRelayError
from save_relay.core.geo import ZoneError
from save_relay.membership import erasure_approval
from save_relay.membership.digest import send_unsubscribe_digest
from save_relay.membership.manage import add, describe, remove, rename, set_enabled, set_sms, subscriber_named
from save_relay.membership.privacy import Erasure, erasable, erase, export
from save_relay.membership.retention import Purged, purge_expired
from save_relay.membership.subscribers import SubscriberImport, export_csv, import_csv
from save_relay.membership.suppress import key_of, lift
from save_relay.membership.zones import ZoneImport, import_zones
from save_relay.store.db import checkpoint
from save_relay.store.subscribers import AddressRow, address_rows, memberships, zone_counts

T = TypeVar("T")

subscribers_app = typer.Typer(
    help="Subscribers: import, export, list, show, add, remove.", no_args_is_help=True
)
zones_app = typer.Typer(help="Zones: import GeoJSON, list, show.", no_args_is_help=True)
privacy_app = typer.Typer(help="Personal data: export, erase, purge.", no_args_is_help=True)

NetworkOption = Annotated[
    str | None, typer.Option("--network", "-n", help="network key (needed with several)")
]


Work = Callable[[AsyncSession, Context, NetworkRef], Coroutine[Any, Any, T]]


def _in_transaction(network: str | None, work: Work[T], *, dry_run: bool = False) -> T:
    """Run ``work`` in one transaction (rolled back for a dry run) and return its result."""

    async def go() -> T:
        async with opened() as (ctx, sessions), sessions() as session:
            transaction = await session.begin()
            try:
                result = await work(session, ctx, choose_network(ctx, network))
            except BaseException:
                await transaction.rollback()
                raise
            if dry_run:
                await transaction.rollback()
            else:
                await transaction.commit()
            return result

    return run(go)


def _read(path: Path) -> str:
    if str(path) == "-":
        return sys.stdin.read()
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SaveRelayError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise SaveRelayError(f"{path}: {exc.strerror or exc}") from None


def _echo_lines(lines: list[str]) -> None:
    for line in lines:
        typer.echo(line)


# --- subscribers ------------------------------------------------------------------------------------


@subscribers_app.command("import")
def subscribers_import(
    file: Annotated[Path, typer.Argument(help="CSV file (- for standard input)")],
    network: NetworkOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="show what would change, change nothing")
    ] = False,
    create_groups: Annotated[bool, typer.Option(help="create the groups the file names")] = False,
) -> None:
    """Upsert subscribers from CSV (company, contact, addresses, street, latitude, longitude, zones, groups,
    sms).

    Every bad line is reported with its number and reason and skipped whole; the others are applied.
    Exits with 1 when a line was refused.
    """
    text = _read(file) if str(file) == "-" else None

    async def work(session: AsyncSession, ctx: Context, ref: NetworkRef) -> SubscriberImport:
        content = text if text is not None else await asyncio.to_thread(_read, file)
        groups: bool | list[str] = True if create_groups else list(ref.settings.default_groups)
        return await import_csv(
            session,
            ref.id,
            content,
            create_groups=groups,
            suppression_key=key_of(ctx.settings),
            region=ref.settings.phone_region,
        )

    result = _in_transaction(network, work, dry_run=dry_run)
    prefix = "would: " if dry_run else ""
    _echo_lines([prefix + line for line in result.changes])
    for error in result.errors:
        typer.secho(f"refused: {error}", err=True, fg=typer.colors.RED)
    typer.echo(("dry run, nothing changed: " if dry_run else "") + result.summary())
    if result.errors:
        raise typer.Exit(1)


@subscribers_app.command("export")
def subscribers_export(
    file: Annotated[Path | None, typer.Argument(help="write here (default: standard output)")] = None,
    network: NetworkOption = None,
    every_status: Annotated[
        bool, typer.Option("--all", help="also unsubscribed and disabled addresses")
    ] = False,
) -> None:
    """Write the subscribers as CSV, in the format `subscribers import` reads."""

    async def work(session: AsyncSession, ctx: Context, ref: NetworkRef) -> str:
        return await export_csv(session, ref.id, every_status=every_status)

    text = _in_transaction(network, work)
    if file is None:
        typer.echo(text, nl=False)
    else:
        file.write_text(text, encoding="utf-8")
        typer.echo(f"written: {file}", err=True)


@subscribers_app.command("list")
def subscribers_list(
    network: NetworkOption = None,
    zone: Annotated[str | None, typer.Option(help="only members of this zone")] = None,
    group: Annotated[str | None, typer.Option(help="only members of this group")] = None,
    status: Annotated[str | None, typer.Option(help="active, unsubscribed or disabled")] = None,
) -> None:
    """One line per address: company, address, status, bounce score."""

    async def work(session: AsyncSession, ctx: Context, ref: NetworkRef) -> list[AddressRow]:
        return await address_rows(
            session, ref.id, zone=zone, group=group, statuses=(status,) if status else None
        )

    rows = _in_transaction(network, work)
    for row in rows:
        off = "" if row.enabled else "  [company disabled]"
        typer.echo(f"{row.company[:40]:<40}  {row.address:<44} {row.status:<12} {row.bounce_score:5.2f}{off}")
    typer.echo(f"{len(rows)} address(es)", err=True)


@subscribers_app.command("show")
def subscribers_show(
    target: Annotated[str, typer.Argument(help="a company name or an address")], network: NetworkOption = None
) -> None:
    """A subscriber with its addresses, zones (computed and manual) and groups."""

    async def work(session: AsyncSession, ctx: Context, ref: NetworkRef) -> list[dict[str, Any]]:
        return await describe(session, ref.id, target)

    for number, info in enumerate(_in_transaction(network, work)):
        if number:
            typer.echo("")
        for key, value in info.items():
            shown = ", ".join(value) if isinstance(value, list) else value
            typer.echo(f"{key + ':':<14} {shown if shown not in ('', None) else '-'}")


@subscribers_app.command("add")
def subscribers_add(
    company: Annotated[str, typer.Option(help="the company (an existing one gets the addresses added)")],
    address: Annotated[list[str], typer.Option(help="an address; repeat for more")],
    network: NetworkOption = None,
    contact: str = "",
    street: str = "",
    location: Annotated[str, typer.Option(help="latitude, longitude in degrees")] = "",
    zones: Annotated[str, typer.Option(help="manual zones, comma-separated")] = "",
    groups: Annotated[str, typer.Option(help="groups, comma-separated")] = "",
    sms: Annotated[
        list[str] | None, typer.Option(help="a mobile number opted in to urgent SMS; repeat for more")
    ] = None,
) -> None:
    """Add a subscriber (validated like an import line)."""
    lat, _, lon = location.partition(",")
    cells = {
        "company": company,
        "contact": contact,
        "addresses": ";".join(address),
        "street": street,
        "latitude": lat.strip(),
        "longitude": lon.strip(),
        "zones": zones.replace(",", ";"),
        "groups": groups.replace(",", ";"),
        "sms": ";".join(sms or []),
    }

    async def work(session: AsyncSession, ctx: Context, ref: NetworkRef) -> list[str]:
        added = await add(
            session,
            ref.id,
            cells,
            actor=actor_name(),
            suppression_key=key_of(ctx.settings),
            region=ref.settings.phone_region,
        )
        return added.changes or ["nothing to change"]

    _echo_lines(_in_transaction(network, work))


@subscribers_app.command("sms")
def subscribers_sms(
    company: Annotated[str, typer.Argument(help="the company")],
    numbers: Annotated[
        list[str] | None, typer.Argument(help="its mobile numbers (none: remove them all)")
    ] = None,
    network: NetworkOption = None,
) -> None:
    """Set the mobile numbers of a company that get urgent reports by SMS (E.164 or national)."""

    async def work(session: AsyncSession, ctx: Context, ref: NetworkRef) -> list[str]:
        return await set_sms(
            session, ref.id, company, numbers or [], region=ref.settings.phone_region, actor=actor_name()
        )

    _echo_lines(_in_transaction(network, work))


@subscribers_app.command("remove")
def subscribers_remove(
    target: Annotated[str, typer.Argument(help="an address, or a company (with all its addresses)")],
    network: NetworkOption = None,
) -> None:
    """Delete an address or a company (to erase a person everywhere, use `privacy erase`)."""

    async def work(session: AsyncSession, ctx: Context, ref: NetworkRef) -> list[str]:
        return await remove(session, ref.id, target, actor=actor_name())

    _echo_lines(_in_transaction(network, work))


@subscribers_app.command("rename")
def subscribers_rename(
    company: Annotated[str, typer.Argument(help="the company's name now (any case)")],
    new_name: Annotated[str, typer.Argument(help="its new name")],
    network: NetworkOption = None,
) -> None:
    """Give a company a new name (refused if another company has it)."""

    async def work(session: AsyncSession, ctx: Context, ref: NetworkRef) -> list[str]:
        found = await subscriber_named(session, ref.id, company)
        await rename(session, found, new_name, actor=actor_name(), via="cli")
        return [f"renamed {company} to {found.company}"]

    _echo_lines(_in_transaction(network, work))


def _set_enabled(target: str, network: str | None, enabled: bool) -> None:
    async def work(session: AsyncSession, ctx: Context, ref: NetworkRef) -> list[str]:
        return await set_enabled(session, ref.id, target, enabled, actor=actor_name())

    _echo_lines(_in_transaction(network, work))


@subscribers_app.command("disable")
def subscribers_disable(
    target: Annotated[str, typer.Argument(help="an address or a company")], network: NetworkOption = None
) -> None:
    """Stop sending to an address or a whole company (kept, and shown as disabled)."""
    _set_enabled(target, network, False)


@subscribers_app.command("enable")
def subscribers_enable(
    target: Annotated[str, typer.Argument(help="an address or a company")], network: NetworkOption = None
) -> None:
    """Send again to an address disabled by bounces (its score is reset) or to a disabled company."""
    _set_enabled(target, network, True)


@subscribers_app.command("digest")
def subscribers_digest() -> None:
    """Send the moderators the digest of (un)subscriptions and disabled addresses now."""

    async def work(session: AsyncSession, ctx: Context, ref: NetworkRef) -> int:
        return await send_unsubscribe_digest(session, ctx, utcnow())

    typer.echo(f"{_everywhere(work)} event(s) reported")


# --- zones ------------------------------------------------------------------------------------------


@zones_app.command("import")
def zones_import(
    file: Annotated[Path, typer.Argument(help="GeoJSON FeatureCollection (slug, name, kind, parent)")],
    network: NetworkOption = None,
    prune: Annotated[bool, typer.Option(help="remove zones that are not in the file")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="show what would change, change nothing")
    ] = False,
) -> None:
    """Validate and load zones; recompute the memberships of the zones that changed."""

    async def work(session: AsyncSession, ctx: Context, ref: NetworkRef) -> ZoneImport:
        text = await asyncio.to_thread(_read, file)
        try:
            return await import_zones(session, ref.id, text, prune=prune)
        except ZoneError as exc:
            raise SaveRelayError(str(exc)) from None

    result = _in_transaction(network, work, dry_run=dry_run)
    _echo_lines([("would: " if dry_run else "") + line for line in result.lines()])
    typer.echo(
        ("dry run, nothing changed: " if dry_run else "")
        + f"{len(result.added)} new, {len(result.reshaped) + len(result.renamed)} changed, "
        f"{len(result.unchanged)} unchanged, {len(result.removed)} removed zone(s)"
    )


@zones_app.command("list")
def zones_list(network: NetworkOption = None) -> None:
    """Every zone with its kind, parent and number of subscribers (and of their active addresses)."""

    async def work(session: AsyncSession, ctx: Context, ref: NetworkRef) -> list[str]:
        return [
            f"{zone.slug:<24} {zone.kind:<16} {zone.parent_slug or '-':<22} {count:>5} subscriber(s), "
            f"{addresses} active address(es)  {zone.name}"
            for zone, count, addresses in await zone_counts(session, ref.id)
        ]

    lines = _in_transaction(network, work)
    _echo_lines(lines or ["no zones: load them with `save-relay zones import FILE`"])


@zones_app.command("show")
def zones_show(slug: str, network: NetworkOption = None) -> None:
    """One zone and its members (how each is a member: computed from the polygon, or manual)."""

    async def work(session: AsyncSession, ctx: Context, ref: NetworkRef) -> list[str]:
        found = [(z, n, a) for z, n, a in await zone_counts(session, ref.id) if z.slug == slug]
        if not found:
            raise NotFound(f"no zone {slug!r}")
        zone, count, active = found[0]
        lines = [f"{zone.slug}: {zone.name} ({zone.kind}, in {zone.parent_slug or '-'})"]
        lines.append(f"{count} subscriber(s), {active} active address(es)")
        member_of = await memberships(session, ref.id)
        for row in await address_rows(session, ref.id, zone=slug):
            manual, computed, _ = member_of.get(row.subscriber_id, ([], [], []))
            how = "+".join(s for s, on in (("computed", slug in computed), ("manual", slug in manual)) if on)
            lines.append(f"  {row.company[:40]:<40} {row.address:<44} {row.status:<12} {how}")
        return lines

    _echo_lines(_in_transaction(network, work))


# --- privacy ----------------------------------------------------------------------------------------


@privacy_app.command("export")
def privacy_export(
    address: str,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write here")] = None,
    reason: ReasonOption = None,
) -> None:
    """Everything held about one address, as JSON (for a subject access request).

    This discloses personal data: it needs --reason (or [privacy] default_reason), kept in the audit log.
    """
    why = disclosure_reason(reason)

    async def work(session: AsyncSession, ctx: Context, ref: NetworkRef) -> dict[str, Any]:
        found = await export(session, ctx.settings, address)
        record_disclosure(session, command="privacy export", reason=why, object_ref=address.lower()[:64])
        return found

    text = json.dumps(_everywhere(work), indent=2, ensure_ascii=False)
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        typer.echo(f"written: {output}", err=True)


@privacy_app.command("erase")
def privacy_erase(
    address: str,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
    as_: Annotated[
        str | None,
        typer.Option("--as", help="the moderator asking (four_eyes.erase: a second one runs it again)"),
    ] = None,
) -> None:
    """Remove or pseudonymise an address everywhere (reports on an evidence hold are kept).

    When a network sets four_eyes.erase, the first moderator's command (--as ADDRESS) only asks: the
    erasure happens when another moderator runs the same command.
    """
    if not yes and not typer.confirm(f"Erase every trace of {address}? This cannot be undone."):
        raise typer.Exit(1)

    async def work(session: AsyncSession, ctx: Context, ref: NetworkRef) -> Erasure | None:
        checked = erasable(ctx.settings, address)
        four_eyes = await erasure_approval.gate(session, ctx, checked, as_)
        if four_eyes.waiting:
            return None
        actor = as_.strip().lower() if as_ else actor_name()
        return await erase(session, ctx.settings, checked, actor=actor, first_approval=four_eyes.first)

    result = _everywhere(work)
    if result is None:
        typer.echo(
            f"the erasure of {address.lower()} waits for a second moderator (four-eyes): nothing was erased; "
            "another moderator runs the same command with --as and their own address"
        )
        return

    async def flush_wal() -> None:
        async with database() as engine:
            await checkpoint(engine)

    run(flush_wal)  # SQLite: the old pages leave the WAL file too
    _echo_lines(result.lines())
    typer.echo(f"{address.lower()} erased; it appears as {result.pseudonym} in what was kept")


@privacy_app.command("unsuppress")
def privacy_unsuppress(address: str) -> None:
    """Lift the suppression of an erased address: imports and subscriptions accept it again."""

    async def work(session: AsyncSession, ctx: Context, ref: NetworkRef) -> bool:
        return await lift(session, key_of(ctx.settings), address, actor=actor_name())

    if not _everywhere(work):
        raise fail(f"{address.lower()} is not on the suppression list")
    typer.echo(f"{address.lower()} may be imported and may subscribe again")


@privacy_app.command("purge")
def privacy_purge() -> None:
    """Apply the retention policy now (the scheduler does it daily)."""

    async def work(session: AsyncSession, ctx: Context, ref: NetworkRef) -> Purged:
        return await purge_expired(session, ctx, utcnow())

    typer.echo("purged: " + _everywhere(work).summary())


def _everywhere(work: Work[T]) -> T:
    """Run ``work`` for commands that span every network (it gets the first one, and ignores it)."""
    keys = list(settings().networks)
    if not keys:
        raise SaveRelayError("no network in the settings")
    return _in_transaction(keys[0], work)
