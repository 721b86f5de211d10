"""``save-relay subscribers | zones | privacy`` and ``queue hold`` as an operator runs them (subprocesses)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.e2e.test_cli import relay_config, run_cli, write_config

DATA = Path(__file__).resolve().parents[1] / "data" / "membership"


@pytest.fixture
def cli(tmp_path: Path) -> tuple[Path, Path]:
    """(config, workdir) of an initialised demo database."""
    config = write_config(tmp_path / "save-relay.toml", relay_config(tmp_path))
    assert run_cli(config, "init", "--demo", cwd=tmp_path).returncode == 0
    return config, tmp_path


def sr(cli: tuple[Path, Path], *args: str, code: int = 0) -> tuple[str, str]:
    result = run_cli(cli[0], *args, cwd=cli[1])
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result.stdout, result.stderr


def test_zones(cli: tuple[Path, Path]) -> None:
    out, _ = sr(cli, "zones", "import", str(DATA / "zones.geojson"), "--dry-run")
    assert "would: zone park-noord: new" in out and "dry run, nothing changed" in out
    assert "park-noord" not in sr(cli, "zones", "list")[0]
    out, _ = sr(cli, "zones", "import", str(DATA / "zones.geojson"))
    assert "4 new, 0 changed, 0 unchanged, 0 removed zone(s)" in out
    assert "zone kristal-park: not in the file, kept" in out
    _, err = sr(cli, "zones", "import", str(DATA / "zones_bad.geojson"), code=1)
    assert "problems in zone file" in err and "duplicate slug 'gemeente'" in err
    zones, _ = sr(cli, "zones", "list")
    assert any(line.startswith("park-noord") and "0 subscriber(s)" in line for line in zones.splitlines())


def test_subscribers(cli: tuple[Path, Path]) -> None:
    sr(cli, "zones", "import", str(DATA / "zones.geojson"))
    out, _ = sr(cli, "subscribers", "import", str(DATA / "subscribers_good.csv"), "--create-groups")
    assert "5 new, 0 changed, 0 unchanged subscriber(s); 6 address(es) added; 0 line(s) refused" in out
    out, err = sr(cli, "subscribers", "import", str(DATA / "subscribers_bad.csv"), "--dry-run", code=1)
    assert "would: line 2: new subscriber Goed BV (info@goed.example)" in out
    assert "refused: line 3: no address given" in err
    assert "refused: line 7: unknown zone 'park-west'; unknown group 'vrijwilligers'" in err
    assert "goed.example" not in sr(cli, "subscribers", "list")[0]  # the dry run changed nothing

    listed, _ = sr(cli, "subscribers", "list", "--zone", "park-noord")
    assert "security@staal-noord.example" in listed and "preventie@chemie-zuid.example" not in listed
    assert "dirk@buitenbeentje.example" in listed  # a manual member
    listed, _ = sr(cli, "subscribers", "list", "--zone", "sector-a", "--group", "transport")
    addresses = {line.split()[-3] for line in listed.splitlines()}
    assert {"preventie@chemie-zuid.example", "planning@desnelle.example"} <= addresses
    assert "security@staal-noord.example" not in addresses  # in the zone, not in the group
    zones, _ = sr(cli, "zones", "list")
    assert any(line.startswith("park-noord") and "2 subscriber(s)" in line for line in zones.splitlines())
    shown, _ = sr(cli, "zones", "show", "park-noord")
    assert "Buitenbeentje" in shown and "manual" in shown and "computed" in shown

    out, _ = sr(cli, "subscribers", "show", "nacht@staal-noord.example")
    assert "company:       Staal Noord NV" in out and "park-noord" in out
    out, _ = sr(
        cli, "subscribers", "add", "--company", "Staal Noord NV", "--address", "extra@staal-noord.example"
    )
    assert "+ extra@staal-noord.example" in out
    _, err = sr(cli, "subscribers", "add", "--company", "X", "--address", "nope", code=1)
    assert "invalid address 'nope'" in err
    assert "disabled" in sr(cli, "subscribers", "disable", "extra@staal-noord.example")[0]
    assert "enabled" in sr(cli, "subscribers", "enable", "extra@staal-noord.example")[0]
    assert (
        "removed extra@staal-noord.example"
        in sr(cli, "subscribers", "remove", "extra@staal-noord.example")[0]
    )

    exported, _ = sr(cli, "subscribers", "export")
    rows = {row["company"]: row for row in csv.DictReader(io.StringIO(exported))}
    assert rows["Buitenbeentje"]["zones"] == "park-noord" and rows["Chemie Zuid BV"]["groups"] == "transport"
    assert len(rows) == 44 + 5
    target = cli[1] / "export.csv"
    sr(cli, "subscribers", "export", str(target))
    out, _ = sr(cli, "subscribers", "import", str(target))
    assert "0 new, 0 changed, 49 unchanged" in out


def test_rename(cli: tuple[Path, Path]) -> None:
    out, _ = sr(cli, "subscribers", "rename", "metaalwerken vos nv", "Metaalwerken Vos & Zonen NV")
    assert "renamed metaalwerken vos nv to Metaalwerken Vos & Zonen NV" in out
    assert (
        "Metaalwerken Vos & Zonen NV"
        in sr(cli, "subscribers", "show", "security@metaalwerken-vos.example")[0]
    )
    _, taken = sr(cli, "subscribers", "rename", "Dusart Logistics BV", "Metaalwerken Vos & Zonen NV", code=1)
    assert "another company is already called" in taken
    _, missing = sr(cli, "subscribers", "rename", "Bestaat Niet BV", "X", code=1)
    assert "no subscriber or address" in missing


def test_privacy_and_holds(cli: tuple[Path, Path]) -> None:
    out, _ = sr(
        cli, "privacy", "export", "security@metaalwerken-vos.example", "--reason", "subject access request"
    )
    info = json.loads(out)
    assert info["subscribers"][0]["company"] == "Metaalwerken Vos NV"
    _, err = sr(cli, "privacy", "erase", "inspecteur.peeters@politie.lommel.be", "--yes", code=1)
    assert "moderator" in err
    out, _ = sr(cli, "privacy", "erase", "security@metaalwerken-vos.example", "--yes")
    assert "deleted 1 subscriber addresses" in out and "erased-" in out
    assert (
        json.loads(
            sr(
                cli,
                "privacy",
                "export",
                "security@metaalwerken-vos.example",
                "--reason",
                "subject access request",
            )[0]
        )["subscribers"]
        == []
    )
    erased = "security@metaalwerken-vos.example"
    _, err = sr(cli, "subscribers", "add", "--company", "Vos", "--address", erased, code=1)
    assert f"{erased} was erased on request" in err and len(err.strip().splitlines()) == 1
    demo = str(Path(__file__).resolve().parents[2] / "config" / "subscribers.csv")
    _, err = sr(cli, "subscribers", "import", demo, code=1)
    assert f"refused: line 2: {erased} was erased on request" in err
    assert "may be imported" in sr(cli, "privacy", "unsuppress", erased)[0]
    assert "not on the suppression list" in sr(cli, "privacy", "unsuppress", erased, code=1)[1]
    assert "1 new" in sr(cli, "subscribers", "import", demo)[0]
    assert "purged: reports: 0" in sr(cli, "privacy", "purge")[0]
    _, err = sr(cli, "queue", "hold", "SAVE-2026-999999", code=1)
    assert "no report SAVE-2026-999999" in err
    assert "0 event(s) reported" in sr(cli, "subscribers", "digest")[0]
