"""The vendored front-end packages are exactly what ``scripts/vendor_assets.py`` fetched from npm:
every file listed in its folder's SHA256SUMS with that digest, nothing missing or added, a licence and
a SOURCE beside each, and one folder per package the script names (a version bump leaves no stale one)."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def vendor_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("vendor_assets", ROOT / "scripts/vendor_assets.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["vendor_assets"] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules["vendor_assets"]
    return module


SCRIPT = vendor_script()
FOLDERS = [package.dest / f"{package.name}-{package.version}" for package in SCRIPT.PACKAGES]


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.name)
def test_every_file_matches_its_checksum(folder: Path) -> None:
    listed: dict[str, str] = {}
    for line in (folder / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ", 1)
        listed[name] = digest
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert present - {"SHA256SUMS"} == set(listed)
    for name, digest in listed.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
    assert {"LICENSE", "SOURCE"} <= set(listed)
    package = folder.name.rsplit("-", 1)[0]
    assert (folder / "SOURCE").read_text().startswith(f"{package}@{folder.name.rsplit('-', 1)[1]} ")


@pytest.mark.parametrize("root", sorted({package.dest for package in SCRIPT.PACKAGES}), ids=lambda r: r.name)
def test_no_stale_or_unknown_folders(root: Path) -> None:
    assert {p for p in root.iterdir() if p.is_dir()} == {f for f in FOLDERS if f.parent == root}


def test_test_only_packages_are_not_in_the_package() -> None:
    """axe-core is for the browser tests: it stays out of src/ (so out of the wheel and off /static/)."""
    served = ROOT / "src/save_relay/web/static/vendor"
    assert not list(served.glob("axe-core-*"))
    assert list((ROOT / "tests/browser/vendor").glob("axe-core-*/axe.min.js"))
