"""A bundle on disk: files plus a ``manifest.sha256`` that ``sha256sum -c`` checks; a folder or a zip.

The manifest is in GNU coreutils' format (``HASH  PATH``, two spaces, relative paths, ``/`` as the
separator), so an investigator needs no save-relay to check a bundle: ``cd BUNDLE && sha256sum -c
manifest.sha256``. Inside a zip the same files sit under one folder named after the bundle, so that
unzipping gives a folder to ``cd`` into.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from save_relay.core.errors import SaveRelayError

MANIFEST = "manifest.sha256"


class BundleError(SaveRelayError):
    """The bundle cannot be written or read."""


def as_json(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")


def manifest(files: Mapping[str, bytes]) -> bytes:
    lines = [f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(files.items())]
    return "".join(lines).encode("utf-8")


def write(files: Mapping[str, bytes], target: Path) -> Path:
    """Write ``files`` (relative path -> bytes) and their manifest to ``target`` (a new folder, or a
    ``.zip``). Refuses to overwrite: a bundle is written once."""
    if target.exists() and (target.is_file() or any(target.iterdir())):
        raise BundleError(f"{target} exists and is not empty: choose a new folder or file")
    everything = {**files, MANIFEST: manifest(files)}
    if target.suffix.lower() == ".zip":
        target.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(target, "x", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, data in everything.items():
                archive.writestr(f"{target.stem}/{name}", data)
        return target
    for name, data in everything.items():
        path = target / PurePosixPath(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return target


def read(source: Path) -> dict[str, bytes]:
    """The files of a bundle folder or zip (relative path -> bytes)."""
    if not source.exists():
        raise BundleError(f"no bundle at {source}")
    if source.is_dir():
        return {p.relative_to(source).as_posix(): p.read_bytes() for p in source.rglob("*") if p.is_file()}
    try:
        with zipfile.ZipFile(source) as archive:
            names = [n for n in archive.namelist() if not n.endswith("/")]
            top = {n.split("/", 1)[0] for n in names}
            strip = len(top) == 1 and all("/" in n for n in names)
            return {(n.split("/", 1)[1] if strip else n): archive.read(n) for n in names}
    except zipfile.BadZipFile:
        raise BundleError(f"{source}: neither a folder nor a zip file") from None


def check(files: Mapping[str, bytes]) -> list[str]:
    """Problems of a bundle, one line each (empty: every file listed, present and unchanged, and
    nothing unlisted)."""
    if MANIFEST not in files:
        return [f"no {MANIFEST}"]
    problems, listed = [], set()
    for line in files[MANIFEST].decode("utf-8", "replace").splitlines():
        digest, _, name = line.partition("  ")
        listed.add(name)
        if name not in files:
            problems.append(f"{name}: missing")
        elif hashlib.sha256(files[name]).hexdigest() != digest:
            problems.append(f"{name}: changed (its SHA-256 is not the manifest's)")
    problems += [f"{name}: not in the manifest" for name in sorted(set(files) - listed - {MANIFEST})]
    return problems
