"""The README's commands work as written: every block fenced as ```console is run, in order, in a fresh
folder that holds a copy of ``config/`` and the checkout's ``.venv`` (so ``.venv/bin/save-relay -c
config/save-relay.example.toml ...`` means what it says), against a new SQLite database.

The convention (README "Development"): a ```console block holds commands that are safe to run anywhere
and need nothing running (no daemon, no network); ```sh blocks are shown only. One command per line
(a trailing backslash continues it); ``#`` lines are comments; a trailing ``# exit N`` says the command
must exit with N instead of 0. Runs in a few seconds; ``python tests/docs/test_readme_commands.py``
runs it outside pytest too.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
FENCE = re.compile(r"^```console\n(.*?)^```", re.MULTILINE | re.DOTALL)
EXPECTED = re.compile(r"\s+#\s*exit\s+(\d+)\s*$")


def commands(text: str) -> list[tuple[str, int]]:
    """(command, expected exit code) for every command of every ```console block, in order."""
    out: list[tuple[str, int]] = []
    for block in FENCE.findall(text):
        pending = ""
        for line in block.splitlines():
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1] + " "
                continue
            command, expected = pending + line, 0
            pending = ""
            found = EXPECTED.search(command)
            if found:
                command, expected = command[: found.start()], int(found.group(1))
            out.append((command.strip(), expected))
    return out


def workdir(base: Path) -> Path:
    """A fresh folder like a checkout after ``make install``: config/ copied, .venv linked."""
    shutil.copytree(ROOT / "config", base / "config")
    (base / ".venv").symlink_to(ROOT / ".venv")
    return base


def run_all(base: Path) -> list[str]:
    """Run every command in ``base``; returns the failures (command, exit code, output)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAVE_RELAY_")}
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    failures = []
    for command, expected in commands(README.read_text(encoding="utf-8")):
        done = subprocess.run(
            ["bash", "-o", "pipefail", "-c", command],
            cwd=base,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != expected:
            output = (done.stdout + done.stderr).strip()[-2000:]
            failures.append(f"$ {command}\nexit {done.returncode} (expected {expected})\n{output}")
    return failures


def test_readme_has_console_blocks() -> None:
    assert len(commands(README.read_text(encoding="utf-8"))) >= 5


def test_every_console_command_of_the_readme_works(tmp_path: Path) -> None:
    failures = run_all(workdir(tmp_path))
    assert not failures, "\n\n".join(failures)


def test_the_convention() -> None:
    text = (
        "```console\n# a comment\nsave-relay a \\\n  --b\nsave-relay status   # exit 2\n```\n```sh\nno\n```\n"
    )
    assert commands(text) == [("save-relay a    --b", 0), ("save-relay status", 2)]


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="save-relay-readme-") as folder:
        problems = run_all(workdir(Path(folder)))
    print("\n\n".join(problems) or "every README command worked")
    sys.exit(1 if problems else 0)
