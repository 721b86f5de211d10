"""The wheel carries everything the relay needs: build it, install it into a fresh venv outside the
checkout, and run ``init --demo`` and ``serve`` from there until a report is acknowledged.

This proves that the templates, the web pages and their static files, and the Alembic migrations ship
inside the wheel (``resources.py`` would
otherwise find them only at the top of a source checkout).
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path

import pytest

from tests.e2e.test_cli import (
    REPORTER,
    Daemon,
    clean_env,
    delivered_to,
    demo_counts,
    ok,
    relay_config,
    run_cli,
    send_report,
    wait_for_outbox,
    write_config,
)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
REQUIRED = [
    "save_relay/templates/nl/notification.txt",
    "save_relay/templates/nl/ack.txt",
    "save_relay/migrations/env.py",
    "save_relay/migrations/script.py.mako",
    "save_relay/migrations/versions/0001_initial_schema.py",
    "save_relay/web/templates/base.html",
    "save_relay/web/static/console.css",
    "save_relay/web/static/vendor/htmx.org-2.0.11/htmx.min.js",
    "save_relay/web/static/vendor/leaflet-1.9.4/leaflet.js",
]


def _run(command: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=cwd,
        env=clean_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _tail(result: subprocess.CompletedProcess[str], lines: int = 30) -> str:
    return "\n".join((result.stdout + result.stderr).splitlines()[-lines:])


def build_wheel(outdir: Path) -> Path:
    """``python -m build --wheel``, isolated (hatchling from the package index); ``--no-isolation`` only
    when the isolated build fails and hatchling is importable here."""
    command = [sys.executable, "-m", "build", "--wheel", "--outdir", str(outdir), str(ROOT)]
    result = _run(command, ROOT, timeout=300)
    if result.returncode != 0:
        if importlib.util.find_spec("hatchling") is None:
            pytest.skip(
                "the isolated wheel build failed (package index unreachable?) and hatchling is not "
                f"installed in {sys.prefix} for --no-isolation:\n{_tail(result)}"
            )
        result = _run([*command, "--no-isolation"], ROOT, timeout=300)
        assert result.returncode == 0, _tail(result)
    wheels = list(outdir.glob("save_relay-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def check_web_side(log: str) -> None:
    """The installed daemon's HTTP side: a page from the packaged templates and its static files."""
    match = re.search(r"http://([0-9.]+):(\d+)", log)
    assert match, log
    base = f"http://{match.group(1)}:{match.group(2)}"
    with urllib.request.urlopen(f"{base}/healthz", timeout=10) as response:
        assert response.read() == b"ok"
    with urllib.request.urlopen(f"{base}/", timeout=10) as response:
        page = response.read().decode()
    assert '<html lang="nl">' in page
    for link in re.findall(r'(?:href|src)="(/static/[^"]+)"', page):
        with urllib.request.urlopen(f"{base}{link}", timeout=10) as response:
            assert response.status == 200 and response.read()


def test_the_wheel_installs_and_runs_outside_the_checkout(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "dist")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert not [name for name in REQUIRED if name not in names], sorted(names)
    assert not [name for name in names if "__pycache__" in name or name.startswith("tests/")]

    venv = tmp_path / "venv"
    ok(_run([sys.executable, "-m", "venv", str(venv)], tmp_path, timeout=120))
    python, exe = venv / "bin" / "python", venv / "bin" / "save-relay"
    installed = _run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], tmp_path, timeout=600)
    assert installed.returncode == 0, _tail(installed)
    assert exe.is_file()

    workdir = tmp_path / "work"
    workdir.mkdir()
    # The package, its templates and its migrations all come from the new venv, not from the checkout.
    where = ok(
        _run(
            [
                str(python),
                "-c",
                "import save_relay.core.resources as r;"
                " print(r.__file__, r.templates_dir(), r.migrations_dir())",
            ],
            workdir,
            timeout=60,
        )
    ).split()
    assert len(where) == 3
    for path in where:
        assert Path(path).resolve().is_relative_to(venv.resolve()), where

    data = relay_config(workdir)
    config = write_config(workdir / "save-relay.toml", data)
    zones, subscribers = demo_counts()
    initialised = ok(run_cli(config, "init", "--demo", cwd=workdir, exe=exe))
    assert f"demo data: {zones} zones, {subscribers} subscribers" in initialised

    daemon = Daemon(config, workdir, exe=exe)
    try:
        network = data["networks"]["industrie"]
        reference = send_report(daemon.host, daemon.port, network["address"])
        messages = wait_for_outbox(workdir / "outbox", 1 + len(network["moderators"]))
        acknowledgement = [m for m in messages if delivered_to(m) == REPORTER]
        assert len(acknowledgement) == 1
        assert reference in str(acknowledgement[0]["Subject"])
        text = acknowledgement[0].get_body(preferencelist=("plain",))
        assert text is not None
        assert reference in text.get_content()
        assert "112" in text.get_content()  # rendered from the packaged nl/ack.txt
        notified = {delivered_to(m) for m in messages if m["X-Save-Relay-Reference"] == reference}
        assert notified == {address.lower() for address in network["moderators"]}
        check_web_side(daemon.stderr())
        assert daemon.terminate() == 0
        assert "Traceback" not in daemon.stderr()
    finally:
        daemon.kill()
