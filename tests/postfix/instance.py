"""A throwaway Postfix for the tests: Debian's binaries, its own config, queue and data directories.

The recipe is README.md's: the code blocks marked ``<!-- postfix-recipe: NAME -->`` are split at their
``# /etc/postfix/FILE`` lines and written into this instance's config directory, with that directory for
``/etc/postfix/`` and save-relay's LMTP test port for the README's 2424. What is added here is only what
a test instance needs (``TEST_MAIN_CF``): its own directories, loopback only, no DNS, a log file, and a
relayhost (the test's sink) standing in for the internet. ``master.cf`` is Debian's list of services
without chroot (the queue directory is a temp dir) and with ``smtpd`` on a free loopback port.

Postfix must run as root (its master drops privileges to ``mail_owner``): ``postfix -c DIR start``
and ``postfix -c DIR stop``; whatever is left of the instance is killed afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
BINARIES = ("postfix", "postmap", "postqueue", "postconf")
SBIN = ("/usr/sbin", "/usr/local/sbin")
README_PORT = "127.0.0.1:2424"

TEST_MAIN_CF = """\
# --- test instance only: its own directories, loopback, no DNS; the README's recipes follow ---
compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mx.politie.lommel.test
mydestination =
alias_maps =
alias_database =
smtp_dns_support_level = disabled
lmtp_dns_support_level = disabled
# the internet, for this test: every message that is not for save-relay goes to the test's sink
relayhost = [127.0.0.1]:{sink_port}
# logs to a file (there is no syslog in a test); postlogd accepts only these prefixes
maillog_file = {root}/postfix.log
maillog_file_prefixes = {root}
# Postfix's default backoff (300 s and more): a deferred message waits for `postqueue -f`
"""

# Debian's master.cf services that a relay needs, chroot off (column 5: n).
TEST_MASTER_CF = """\
127.0.0.1:{smtp_port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def postfix_sbin() -> Path | None:
    """The directory holding postfix, postmap, postqueue and postconf, or None."""
    found = shutil.which("postfix")
    for directory in (os.path.dirname(found) if found else "", *SBIN):
        if directory and all(os.access(os.path.join(directory, b), os.X_OK) for b in BINARIES):
            return Path(directory)
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def readme_recipe(name: str, readme: Path = README) -> dict[str, str]:
    """The files of README.md's ``<!-- postfix-recipe: NAME ... -->`` code block: path -> text."""
    text = readme.read_text(encoding="utf-8")
    match = re.search(rf"<!-- postfix-recipe: {re.escape(name)}\b[^>]*-->\n```[a-z]*\n(.*?)\n```", text, re.S)
    if match is None:
        raise AssertionError(f"README.md has no code block marked <!-- postfix-recipe: {name} -->")
    files: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in match.group(1).splitlines():
        header = re.match(r"# (/etc/postfix/\S+)", line)
        if header:
            current = files.setdefault(header.group(1), [])
        elif current is None:
            raise AssertionError(f"postfix-recipe {name}: text before the first '# /etc/postfix/FILE' line")
        else:
            current.append(line)
    return {path: "\n".join(lines).strip() + "\n" for path, lines in files.items()}


def _run(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=60, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} failed ({result.returncode}): {result.stderr}")
    return result


@dataclass
class Postfix:
    """One instance: ``configure()``, ``start()``, ``stop()``; ``flush()`` and ``queue()`` in between."""

    sbin: Path
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="save-relay-postfix-")))
    smtp_port: int = field(default_factory=free_port)
    running: bool = False

    @property
    def etc(self) -> Path:
        return self.root / "etc"

    def configure(
        self, lmtp_port: int, sink_port: int, recipes: tuple[str, ...] = ("lmtp", "smarthost")
    ) -> None:
        """Write main.cf (TEST_MAIN_CF + the README's recipes), master.cf and the tables (postmap)."""
        os.chmod(self.root, 0o755)  # the postfix user enters it (pytest's own tmp dirs are 0700)
        for sub in ("etc", "queue", "data"):
            (self.root / sub).mkdir(exist_ok=True)
        shutil.chown(self.root / "data", "postfix", "postfix")
        main = [TEST_MAIN_CF.format(root=self.root, sink_port=sink_port)]
        tables: dict[str, str] = {}
        for name in recipes:
            for path, text in readme_recipe(name).items():
                text = text.replace("/etc/postfix/", f"{self.etc}/")
                if README_PORT in text:
                    text = text.replace(README_PORT, f"127.0.0.1:{lmtp_port}")
                file = Path(path).name
                if file == "main.cf":
                    main.append(f"# --- README.md, postfix-recipe: {name} ---\n{text}")
                else:
                    tables[file] = tables.get(file, "") + text
        if "lmtp" in recipes:
            assert f"127.0.0.1:{lmtp_port}" in tables.get("transport", ""), "the README's LMTP port moved"
        (self.etc / "main.cf").write_text("\n".join(main))
        (self.etc / "master.cf").write_text(TEST_MASTER_CF.format(smtp_port=self.smtp_port))
        for file, text in tables.items():
            (self.etc / file).write_text(text)
            _run(self.sbin / "postmap", "-c", self.etc, f"hash:{self.etc / file}")
        result = _run(self.sbin / "postconf", "-c", self.etc, "-n")
        assert not result.stderr.strip(), f"postconf warns about the configuration: {result.stderr}"
        commented = [line for line in result.stdout.splitlines() if "#" in line]
        assert not commented, f"a comment after a value becomes part of it in main.cf: {commented}"

    def postconf(self, name: str) -> str:
        return _run(self.sbin / "postconf", "-c", self.etc, "-h", name).stdout.strip()

    def start(self) -> None:
        """``postfix -c ETC start``: returns once the master daemon is up (it listens at once)."""
        result = _run(self.sbin / "postfix", "-c", self.etc, "start", check=False)
        if result.returncode != 0:
            raise AssertionError(f"postfix start failed: {result.stderr}\n{self.log()}")
        self.running = True

    def stop(self) -> None:
        """``postfix -c ETC stop``; then any process of the instance still there is killed."""
        pid = self._master_pid()
        if self.running:
            _run(self.sbin / "postfix", "-c", self.etc, "stop", check=False)
            self.running = False
        if pid is not None:  # the master leads its own process group: the daemons are in it
            deadline = time.monotonic() + 10
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def flush(self) -> None:
        """``postqueue -c ETC -f``: deliver the deferred queue now."""
        _run(self.sbin / "postqueue", "-c", self.etc, "-f")

    def queue(self) -> list[dict[str, Any]]:
        """``postqueue -c ETC -j``: one dict per queued message (queue_name, recipients with delay_reason)."""
        out = _run(self.sbin / "postqueue", "-c", self.etc, "-j").stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def log(self) -> str:
        path = self.root / "postfix.log"
        return path.read_text(errors="replace") if path.exists() else "(no postfix.log)"

    def _master_pid(self) -> int | None:
        path = self.root / "queue" / "pid" / "master.pid"
        with contextlib.suppress(OSError, ValueError):
            return int(path.read_text().split()[0])
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):  # a zombie waiting for its reaper is gone for our purpose
        return " Z" not in Path(f"/proc/{pid}/stat").read_text().split(")", 1)[1][:3]
    return True
