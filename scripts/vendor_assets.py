#!/usr/bin/env python3
"""Vendor the web console's front-end packages from the npm registry, once, into the repository.

    python3 scripts/vendor_assets.py            # needs node's npm; writes the folders below

Each package is fetched with ``npm pack NAME@VERSION`` (npm checks the tarball against the registry's
sha512 ``integrity``), and only the files the console uses are copied out, with the package's licence,
into ``<dest>/<name>-<version>/``. Beside them go ``SOURCE`` (what was packed, and the tarball's
integrity string as npm reported it) and ``SHA256SUMS`` (``sha256sum -c`` format, one line per file);
``tests/unit/test_vendored_assets.py`` checks every folder against its SHA256SUMS, so a changed, missing
or extra file fails the tests. The output is committed: nothing is fetched at run time or in CI.

To upgrade a package: change its version in ``PACKAGES``, run this script, delete the old folder, fix the
paths in the templates (``web/templates/base.html``) and the tests, and commit the lot.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVED = ROOT / "src/save_relay/web/static/vendor"  # served under /static/vendor/ and shipped in the wheel
TEST_ONLY = ROOT / "tests/browser/vendor"  # used by the browser tests only, never served in production


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    dest: Path
    files: dict[str, str]  # path inside the tarball's package/ -> path in the vendored folder
    why: str


PACKAGES = [
    Package(
        "htmx.org",
        # 2.0.x: the mature line (4.x is a rewrite with other defaults); still patched by its authors.
        "2.0.11",
        SERVED,
        {"dist/htmx.min.js": "htmx.min.js", "LICENSE": "LICENSE"},
        "partial page updates from server-rendered HTML (hx-get, hx-post)",
    ),
    Package(
        "leaflet",
        "1.9.4",
        SERVED,
        {
            "dist/leaflet.js": "leaflet.js",
            "dist/leaflet.css": "leaflet.css",
            "dist/images/layers.png": "images/layers.png",
            "dist/images/layers-2x.png": "images/layers-2x.png",
            "dist/images/marker-icon.png": "images/marker-icon.png",
            "dist/images/marker-icon-2x.png": "images/marker-icon-2x.png",
            "dist/images/marker-shadow.png": "images/marker-shadow.png",
            "LICENSE": "LICENSE",
        },
        "maps of zones, subscribers and canvass areas",
    ),
    Package(
        "axe-core",
        "4.14.1",
        TEST_ONLY,
        {"axe.min.js": "axe.min.js", "LICENSE": "LICENSE", "LICENSE-3RD-PARTY.txt": "LICENSE-3RD-PARTY.txt"},
        "accessibility checks in the browser tests",
    ),
]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def checksums(folder: Path) -> str:
    """``sha256sum`` lines for every file under ``folder`` except SHA256SUMS itself, sorted by path."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "SHA256SUMS")
    return "".join(f"{sha256(p)}  {p.relative_to(folder).as_posix()}\n" for p in files)


def pack(package: Package, workdir: Path) -> tuple[Path, str]:
    """``npm pack``: the tarball and its integrity string (npm verified it against the registry)."""
    spec = f"{package.name}@{package.version}"
    result = subprocess.run(  # noqa: S603 - fixed arguments
        ["npm", "pack", spec, "--json", "--pack-destination", str(workdir)],  # noqa: S607 - npm from PATH
        capture_output=True,
        text=True,
        check=True,
    )
    (info,) = json.loads(result.stdout)
    if info["version"] != package.version:
        raise SystemExit(f"npm packed {info['id']}, not {spec}")
    return workdir / info["filename"], info["integrity"]


def vendor(package: Package, workdir: Path) -> Path:
    tarball, integrity = pack(package, workdir)
    unpacked = workdir / f"{package.name}-unpacked"
    with tarfile.open(tarball) as archive:
        archive.extractall(unpacked, filter="data")  # no absolute paths, links or devices
    target = package.dest / f"{package.name}-{package.version}"
    if target.exists():
        shutil.rmtree(target)
    for source, name in package.files.items():
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(unpacked / "package" / source, target / name)
    (target / "SOURCE").write_text(
        f"{package.name}@{package.version} from the npm registry (npm pack)\n"
        f"tarball integrity: {integrity}\n"
        f"used for: {package.why}\n"
        "made by scripts/vendor_assets.py; verified by tests/unit/test_vendored_assets.py\n"
    )
    (target / "SHA256SUMS").write_text(checksums(target))
    return target


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="save-relay-vendor-") as tmp:
        for package in PACKAGES:
            target = vendor(package, Path(tmp))
            print(f"{package.name}@{package.version} -> {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
