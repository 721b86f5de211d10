"""A real, throwaway Dovecot IMAP server for the tests: its own config, mail store and free loopback port.

``Dovecot.start()`` runs ``dovecot -F -c CONF`` in its own process group (so ``kill()`` takes the master
and every child at once, like a crash); ``restart()`` brings it back on the same port with the same
mail store. The test side talks to it with the standard library's ``imaplib`` in a thread, a client
independent of the relay's aioimaplib.
"""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

USER = "industrie@politie.lommel.be"
PASSWORD = "mailbox-secret"
DOVECOT_BINARIES = ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot")


def dovecot_binary() -> str | None:
    found = shutil.which("dovecot")
    if found:
        return found
    return next((path for path in DOVECOT_BINARIES if os.access(path, os.X_OK)), None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Dovecot:
    """One Dovecot instance; ``users`` maps login to password (a token works as an XOAUTH2 bearer)."""

    binary: str
    root: Path
    port: int = field(default_factory=free_port)
    tls_port: int | None = None
    cert: tuple[Path, Path] | None = None  # (certificate chain, key) for ssl = required
    capabilities: str | None = None  # imap_capability: e.g. without IDLE, MOVE, UIDPLUS
    users: dict[str, str] = field(default_factory=lambda: {USER: PASSWORD})
    process: subprocess.Popen[bytes] | None = None

    # -- configuration ----------------------------------------------------------------------------

    def _accounts(self) -> tuple[str, str, int, int]:
        """(internal user, login user, mail uid, mail gid): root runs Dovecot's own users."""
        if os.geteuid() == 0:
            internal = pwd.getpwnam("dovecot")
            return "dovecot", "dovenull", internal.pw_uid, internal.pw_gid
        me = pwd.getpwuid(os.getuid())
        return me.pw_name, me.pw_name, me.pw_uid, me.pw_gid

    def write_users(self) -> None:
        _, _, uid, gid = self._accounts()
        lines = [
            f"{login}:{{PLAIN}}{password}:{uid}:{gid}::{self.root / 'mail' / login}::"
            for login, password in self.users.items()
        ]
        users = self.root / "users"
        users.write_text("\n".join(lines) + "\n")
        os.chmod(users, 0o644)

    def write_config(self) -> Path:
        internal, login, uid, _ = self._accounts()
        root = self.root
        ssl = "no"
        tls_listener = "  inet_listener imaps {\n    port = 0\n  }\n"
        if self.cert is not None:
            ssl = f"required\nssl_cert = <{self.cert[0]}\nssl_key = <{self.cert[1]}"
            if self.tls_port is not None:
                tls_listener = (
                    f"  inet_listener imaps {{\n    address = 127.0.0.1\n    port = {self.tls_port}\n"
                    "    ssl = yes\n  }\n"
                )
        capability = f"imap_capability = {self.capabilities}\n" if self.capabilities else ""
        config = f"""
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
instance_name = save-relay-test-{self.port}
log_path = {root}/dovecot.log
ssl = {ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2
auth_failure_delay = 0
default_internal_user = {internal}
default_internal_group = {internal}
default_login_user = {login}
first_valid_uid = {uid}
mail_location = maildir:~/Maildir
mail_fsync = always
{capability}
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/users
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
{tls_listener}}}
service anvil {{
  chroot =
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""
        path = root / "dovecot.conf"
        path.write_text(config)
        return path

    # -- process ----------------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> None:
        _, _, uid, gid = self._accounts()
        for name in ("run", "state", "mail"):
            (self.root / name).mkdir(exist_ok=True)
        os.chown(self.root / "mail", uid, gid)
        self.write_users()
        config = self.write_config()
        self.process = subprocess.Popen(
            [self.binary, "-F", "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=open(self.root / "stderr.log", "ab"),  # noqa: SIM115 - the child keeps it
            start_new_session=True,  # its own process group: kill() takes the children too
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited with {self.process.returncode}:\n{self.logs()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    if sock.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"dovecot did not answer on port {self.port}:\n{self.logs()}")

    def kill(self) -> None:
        """SIGKILL the master and all its children at once (a crash, not a shutdown)."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(5)
        self.process = None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # until the port is free again
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            except OSError:
                return
            time.sleep(0.05)

    def restart(self) -> None:
        self.kill()
        self.start()

    def logs(self) -> str:
        out = []
        for name in ("dovecot.log", "stderr.log"):
            path = self.root / name
            if path.exists():
                out.append(path.read_text(errors="replace")[-3000:])
        return "\n".join(out)

    # -- the test's own IMAP client ---------------------------------------------------------------

    def _session(self, user: str = USER) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=30)  # a restarted Dovecot on a busy machine
        if self.cert is not None:
            import ssl

            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            client.starttls(context)
        client.login(user, self.users[user])
        return client

    def _with(self, action: Callable[[imaplib.IMAP4], T], user: str = USER) -> T:
        client = self._session(user)
        try:
            return action(client)
        finally:
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                client.logout()

    def append_sync(self, raw: bytes, folder: str = "INBOX", flags: str | None = None) -> int:
        """Deliver ``raw`` into ``folder``; returns its UID."""

        def go(client: imaplib.IMAP4) -> int:
            typ, data = client.append(_q(folder), flags, None, raw)
            assert typ == "OK", data
            match = re.search(rb"APPENDUID \d+ (\d+)", data[0] or b"")
            assert match, data
            return int(match.group(1))

        return self._with(go)

    def messages_sync(self, folder: str = "INBOX") -> dict[int, tuple[set[str], bytes]]:
        """UID -> (flags, raw) of every message in ``folder`` (empty if the folder does not exist)."""

        def go(client: imaplib.IMAP4) -> dict[int, tuple[set[str], bytes]]:
            typ, _ = client.select(_q(folder), readonly=True)
            if typ != "OK":
                return {}
            typ, data = client.uid("FETCH", "1:*", "(UID FLAGS BODY.PEEK[])")
            out: dict[int, tuple[set[str], bytes]] = {}
            for item in data:
                if not isinstance(item, tuple):
                    continue
                head, body = item
                uid = re.search(rb"UID (\d+)", head)
                flags = re.search(rb"FLAGS \(([^)]*)\)", head)
                if uid:
                    names = set(flags.group(1).decode().split()) if flags else set()
                    out[int(uid.group(1))] = (names, body)
            return out

        return self._with(go)

    def command_sync(self, action: Callable[[imaplib.IMAP4], T]) -> T:
        return self._with(action)

    async def append(self, raw: bytes, folder: str = "INBOX", flags: str | None = None) -> int:
        return await asyncio.to_thread(self.append_sync, raw, folder, flags)

    async def messages(self, folder: str = "INBOX") -> dict[int, tuple[set[str], bytes]]:
        return await asyncio.to_thread(self.messages_sync, folder)


def _q(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def make_root() -> Path:
    """A world-traversable folder outside pytest's 0700 tmp dirs (Dovecot's login user must enter it)."""
    root = Path(tempfile.mkdtemp(prefix="save-relay-dovecot-"))
    os.chmod(root, 0o755)
    return root
