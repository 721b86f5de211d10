"""The LMTP listener for a local MTA (Postfix's ``lmtp`` transport), on a TCP port or a Unix socket.

Same handler and policy as SMTP (``RelayHandler(lmtp=True)``): RCPT is checked per recipient, and after
DATA each accepted recipient gets its own reply, 250 only after the commit, 451 if storing failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import stat
from dataclasses import dataclass
from pathlib import Path

from aiosmtpd.smtp import SMTP

from save_relay.core.settings import LmtpSettings, SmtpSettings
from save_relay.intake.smtp import RelayHandler, RelayLMTP


@dataclass(slots=True)
class LmtpListener:
    """A running LMTP server; ``address`` is ``lmtp://host:port`` or ``lmtp:unix:/path``."""

    server: asyncio.Server
    unix_path: Path | None

    @property
    def address(self) -> str:
        if self.unix_path is not None:
            return f"lmtp:unix:{self.unix_path}"
        host, port = self.server.sockets[0].getsockname()[:2]
        return f"lmtp://{host}:{port}"

    @property
    def port(self) -> int:
        return int(self.server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        self.server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.server.wait_closed(), 2)
        if self.unix_path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.unix_path.unlink()


def _clear_stale_socket(path: Path) -> None:
    """Remove a socket file left by a dead process; refuse to steal one that somebody listens on."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise OSError(f"lmtp.unix_path exists and is not a socket: {path}")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        path.unlink()
        return
    finally:
        probe.close()
    raise OSError(f"another process listens on {path}")


async def start_lmtp(handler: RelayHandler, lmtp: LmtpSettings, smtp: SmtpSettings) -> LmtpListener:
    """Listen as ``lmtp`` says; greeting name, size and timeout limits are those of ``[smtp]``."""

    def factory() -> SMTP:
        return RelayLMTP(
            handler,
            hostname=smtp.hostname,
            data_size_limit=smtp.max_message_size,
            enable_SMTPUTF8=True,
            timeout=smtp.timeout,
            ident="save-relay LMTP",
        )

    loop = asyncio.get_running_loop()
    if lmtp.unix_path is None:
        server = await loop.create_server(factory, host=lmtp.host, port=lmtp.port)
        return LmtpListener(server, None)
    path = lmtp.unix_path
    _clear_stale_socket(path)
    server = await loop.create_unix_server(factory, path=str(path))
    os.chmod(path, lmtp.unix_mode)
    return LmtpListener(server, path)
