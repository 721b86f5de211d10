"""``save-relay webhooks add | list | import | disable | enable | rotate | remove`` as an operator runs
them (subprocesses, SQLite): the secret printed once and never again, not in the audit log; https
required; a CSV checked whole before anything changes."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

from save_relay.core.webhook_settings import secret_key
from tests.e2e.test_cli_members import cli, sr  # noqa: F401 (the fixture)


def secret_in(out: str) -> str:
    found = re.search(r"(whsec_[A-Za-z0-9+/=]+)", out)
    assert found, out
    return found.group(1)


def audit_rows(tmp_path: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(tmp_path / "relay.sqlite3") as db:
        rows = db.execute(
            "SELECT action, object_ref, detail FROM audit_log WHERE action LIKE 'webhook.%' ORDER BY id"
        )
        return [(a, o, d if isinstance(d, str) else json.dumps(d)) for a, o, d in rows]


def test_add_list_rotate_disable_remove(cli: tuple[Path, Path]) -> None:  # noqa: F811
    _, err = sr(cli, "webhooks", "add", "meldkamer", "http://127.0.0.1:8080/hook", code=1)
    assert "must be an https:// URL" in err and len(err.strip().splitlines()) == 1
    _, err = sr(cli, "webhooks", "add", "meldkamer", "https://x.example/", "--zones", "nergens", code=1)
    assert "no zone 'nergens'" in err

    out, _ = sr(
        cli,
        "webhooks",
        "add",
        "meldkamer",
        "https://meldkamer.securitas.example/hooks/save-relay",
        "--organisation",
        "Securitas",
        "--events",
        "report.approved,canvass.sent",
        "--zones",
        "maatheide",
    )
    first = secret_in(out)
    assert len(secret_key(first)) == 32 and "shown once" in out

    listed, _ = sr(cli, "webhooks", "list")
    assert "industrie/meldkamer  https://meldkamer.securitas.example/hooks/save-relay  enabled" in listed
    assert "events: report.approved,canvass.sent  zones: maatheide" in listed
    assert "whsec_" not in listed  # never shown again, not even its start

    _, err = sr(cli, "webhooks", "add", "meldkamer", "https://other.example/", code=1)
    assert "there is an endpoint 'meldkamer' already" in err

    second = secret_in(sr(cli, "webhooks", "rotate", "meldkamer")[0])
    assert second != first and len(secret_key(second)) == 32
    assert "disabled industrie/meldkamer" in sr(cli, "webhooks", "disable", "meldkamer")[0]
    assert "DISABLED" in sr(cli, "webhooks", "list")[0]
    assert "enabled industrie/meldkamer" in sr(cli, "webhooks", "enable", "meldkamer")[0]
    assert "removed industrie/meldkamer" in sr(cli, "webhooks", "remove", "meldkamer")[0]
    _, err = sr(cli, "webhooks", "rotate", "meldkamer", code=1)
    assert "no managed endpoint 'meldkamer'" in err
    assert "no webhooks" in sr(cli, "webhooks", "list")[0]

    logged = audit_rows(cli[1])
    assert [a for a, _, _ in logged] == [
        "webhook.add",
        "webhook.rotate",
        "webhook.disable",
        "webhook.enable",
        "webhook.remove",
    ]
    assert all(o == "meldkamer" for _, o, _ in logged)
    assert "Securitas" in logged[0][2]
    everything = " ".join(d for _, _, d in logged)
    assert first not in everything and second not in everything and "whsec_" not in everything


def write(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_csv_import_checks_the_whole_file_first(cli: tuple[Path, Path]) -> None:  # noqa: F811
    workdir = cli[1]
    header = "name,organisation,url,events,zones,enabled"
    securitas = (
        "securitas,Securitas,https://securitas.example/hook,report.approved;canvass.sent,maatheide,yes"
    )
    bad = write(
        workdir / "bad.csv", header, securitas, "g4s,G4S,http://g4s.example/hook,,,yes", "seris,,x,,,maybe"
    )
    _, err = sr(cli, "webhooks", "import", str(bad), code=1)
    assert "line 4: enabled must be yes or no" in err
    write(
        bad,
        "name,url,events",
        "securitas,https://securitas.example/hook,report.approved",
        "g4s,http://g4s.example/hook,",
        "seris,https://seris.example/hook,report.nothing",
        "securitas,https://securitas.example/other,",
    )
    _, err = sr(cli, "webhooks", "import", str(bad), code=1)
    assert "line 3: 'http://g4s.example/hook': must be an https:// URL" in err
    assert "line 4: unknown event 'report.nothing'" in err and "line 5: 'securitas' is named twice" in err
    assert "no webhooks" in sr(cli, "webhooks", "list")[0]  # nothing changed

    good = write(workdir / "endpoints.csv", header, securitas, "g4s,G4S,https://g4s.example/hook,,,no")
    out, _ = sr(cli, "webhooks", "import", str(good))
    secrets = dict(re.findall(r"added (\S+)  secret: (whsec_\S+)", out))
    assert set(secrets) == {"securitas", "g4s"} and secrets["securitas"] != secrets["g4s"]
    listed = sr(cli, "webhooks", "list")[0]
    assert "industrie/g4s  https://g4s.example/hook  DISABLED  G4S" in listed
    assert "whsec_" not in listed

    write(
        good,
        header,
        "securitas,Securitas,https://securitas.example/v2,report.approved,,yes",
        "g4s,G4S,https://g4s.example/hook,,,no",
    )
    out, _ = sr(cli, "webhooks", "import", str(good))
    assert "updated securitas" in out and "unchanged g4s" in out and "whsec_" not in out  # secrets stay
    assert "industrie/securitas  https://securitas.example/v2" in sr(cli, "webhooks", "list")[0]
    everything = " ".join(d for _, _, d in audit_rows(workdir))
    assert "whsec_" not in everything and "securitas" in everything
