"""``save-relay users add | list | disable | enable | reset``: the web console's accounts.

A new or reset account gets a generated password (or the one read from stdin with
``--password-stdin``) and, when its role needs a second factor in its network (``totp_roles``) or
``--totp`` is given, a TOTP secret; both are printed once and never again (the database keeps the
argon2id hash and the secret only).
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.cli.common import actor_name, choose_network, opened, run
from save_relay.core.addresses import normalize_address
from save_relay.core.clock import utcnow
from save_relay.core.errors import SaveRelayError
from save_relay.core.passwords import (
    MIN_PASSWORD_LENGTH,
    hash_password,
    new_password,
    new_totp_secret,
    totp_uri,
)
from save_relay.core.states import AccountRole
from save_relay.store import accounts
from save_relay.store.audit import record

users_app = typer.Typer(help="Accounts of the web console.", no_args_is_help=True)

Language = typer.Option(help="the console's language for this person (default: the network's)")


def _password(from_stdin: bool) -> tuple[str, bool]:
    """(password, generated?)"""
    if not from_stdin:
        return new_password(), True
    password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise SaveRelayError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    return password, False


def _login(value: str) -> str:
    address = normalize_address(value.strip(), test_environment=True)
    if address is None:
        raise SaveRelayError(f"invalid login {value!r}: it is the person's mail address")
    return address.lower()  # logins are typed by hand: case must not matter


def _audit(session: AsyncSession, action: str, network_id: int | None, login: str, **detail: Any) -> None:
    record(
        session,
        action=action,
        actor=actor_name(),
        via="cli",
        network_id=network_id,
        object_ref=login,
        **detail,
    )


def _tell(login: str, password: str, generated: bool, secret: str | None, issuer: str) -> None:
    if generated:
        typer.echo(f"password: {password}  (shown once: give it to {login} by a safe way)")
    if secret is not None:
        typer.echo(f"TOTP: {totp_uri(secret, login, issuer)}")
        typer.echo("  (shown once: open it in an authenticator app, or make a QR code of it)")


@users_app.command("add")
def users_add(
    login: Annotated[str, typer.Argument(help="the person's mail address")],
    role: Annotated[AccountRole, typer.Option(case_sensitive=False)] = AccountRole.MODERATOR,
    network: Annotated[str | None, typer.Option(help="the network's key (default: the only one)")] = None,
    name: Annotated[str, typer.Option(help="the person's name")] = "",
    language: Annotated[str | None, Language] = None,
    totp: Annotated[bool, typer.Option("--totp", help="a second factor even if the role needs none")] = False,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password")] = False,
) -> None:
    """Create an account; prints its password (unless read from stdin) and TOTP URI once."""
    address = _login(login)
    if language is not None and language not in ("nl", "fr", "en", "de"):
        raise SaveRelayError(f"language {language!r}: choose nl, fr, en or de")
    password, generated = _password(password_stdin)

    async def go() -> tuple[str | None, str]:
        async with opened() as (ctx, sessions), sessions() as session, session.begin():
            ref = choose_network(ctx, network)
            secret = new_totp_secret() if totp or role in ref.settings.totp_roles else None
            await accounts.add(
                session,
                network_id=ref.id,
                login=address,
                name=name,
                role=role,
                language=language or ref.settings.language,
                password_hash=hash_password(password),
                totp_secret=secret,
            )
            _audit(session, "account.add", ref.id, address, role=role.value, totp=secret is not None)
            return secret, ref.settings.name

    secret, issuer = run(go)
    typer.echo(f"account {address} added ({role.value})")
    _tell(address, password, generated, secret, issuer)


@users_app.command("list")
def users_list(network: Annotated[str | None, typer.Option(help="only this network")] = None) -> None:
    """List the accounts: network, login, role, language, TOTP, active, last login."""

    async def go() -> list[accounts.AccountRow]:
        async with opened() as (ctx, sessions), sessions() as session:
            ref = choose_network(ctx, network) if network else None
            return await accounts.listed(session, ref.id if ref else None)

    rows = run(go)
    if not rows:
        typer.echo("accounts: none (save-relay users add LOGIN --role ROLE)")
        return
    for row in rows:
        seen = f"{row.last_login_at:%Y-%m-%d %H:%M}" if row.last_login_at else "never"
        typer.echo(
            f"{row.network:<12} {row.login:<36} {row.role.value:<11} {row.language}  "
            f"{'totp' if row.has_totp else 'no-totp'}  {'active' if row.active else 'disabled'}  "
            f"last login: {seen}"
        )


def _set_active(login: str, active: bool) -> None:
    address = _login(login)

    async def go() -> None:
        async with opened() as (_, sessions), sessions() as session, session.begin():
            row = await accounts.by_login(session, address)
            await accounts.set_active(session, address, active, utcnow())
            action = "account.enable" if active else "account.disable"
            _audit(session, action, row.network_id if row else None, address)

    run(go)
    typer.echo(f"account {address} {'enabled' if active else 'disabled (its sessions ended)'}")


@users_app.command("disable")
def users_disable(login: str) -> None:
    """Disable an account: it cannot log in, and its open sessions end now."""
    _set_active(login, False)


@users_app.command("enable")
def users_enable(login: str) -> None:
    """Enable a disabled account again."""
    _set_active(login, True)


@users_app.command("reset")
def users_reset(
    login: str,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password")] = False,
) -> None:
    """A new password and a new TOTP secret (if the account had one or its role needs one); its
    sessions end and its login lock is lifted."""
    address = _login(login)
    password, generated = _password(password_stdin)

    async def go() -> tuple[str | None, str]:
        async with opened() as (ctx, sessions), sessions() as session, session.begin():
            row = await accounts.by_login(session, address)
            if row is None:
                raise accounts.AccountError(f"no account {address!r}")
            ref = next(r for r in ctx.networks.values() if r.id == row.network_id)
            needs = row.has_totp or row.role in ref.settings.totp_roles
            secret = new_totp_secret() if needs else None
            await accounts.reset(
                session, address, password_hash=hash_password(password), totp_secret=secret, now=utcnow()
            )
            _audit(session, "account.reset", row.network_id, address, totp=secret is not None)
            return secret, ref.settings.name

    secret, issuer = run(go)
    typer.echo(f"account {address} reset (its sessions ended)")
    _tell(address, password, generated, secret, issuer)
