"""Subscribers and zones imported for real, on SQLite and PostgreSQL: upserts, bad lines, dry runs, and
recomputing only what changed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from save_relay.core.geo import ZoneError
from save_relay.membership.csvfile import parse_subscribers
from save_relay.membership.subscribers import export_csv, import_csv
from save_relay.membership.zones import import_zones
from save_relay.store.db import SessionFactory, create_engine, session_factory
from save_relay.store.networks import sync_networks
from save_relay.store.tables import Subscriber, SubscriberAddress, Zone, ZoneMembership
from tests.conftest import make_settings

DATA = Path(__file__).resolve().parents[1] / "data" / "membership"


def _text(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


@pytest.fixture
async def sessions(db_url: str, tmp_path: Path) -> AsyncIterator[tuple[SessionFactory, int]]:
    """A migrated database with the test network (no zones, no subscribers) and its id."""
    engine = create_engine(db_url)
    factory = session_factory(engine)
    async with factory() as session, session.begin():
        networks = await sync_networks(session, make_settings(db_url, 25, tmp_path))
    yield factory, networks["industrie"].id
    await engine.dispose()


async def _load(sessions: SessionFactory, network_id: int, zones: str = "zones.geojson") -> None:
    async with sessions() as session, session.begin():
        await import_zones(session, network_id, _text(zones))
        result = await import_csv(session, network_id, _text("subscribers_good.csv"), create_groups=True)
        assert result.errors == ()


async def memberships(session: AsyncSession) -> set[tuple[str, str, str]]:
    """(company, zone, source) for every zone membership."""
    rows = await session.execute(
        select(Subscriber.company, Zone.slug, ZoneMembership.source)
        .join(ZoneMembership, ZoneMembership.subscriber_id == Subscriber.id)
        .join(Zone, Zone.id == ZoneMembership.zone_id)
    )
    return {tuple(row) for row in rows.all()}  # type: ignore[misc]


def zones_of(found: set[tuple[str, str, str]], company: str, source: str = "computed") -> set[str]:
    return {zone for c, zone, s in found if c == company and s == source}


async def test_import_computes_zones_and_is_idempotent(sessions: tuple[SessionFactory, int]) -> None:
    factory, network_id = sessions
    await _load(factory, network_id)
    async with factory() as session:
        found = await memberships(session)
        addresses = set(await session.scalars(select(SubscriberAddress.address)))
    assert zones_of(found, "Staal Noord NV") == {"gemeente", "sector-a", "park-noord"}
    assert zones_of(found, "Chemie Zuid BV") == {"gemeente", "sector-a", "park-zuid"}
    assert zones_of(found, 'Transport "De Snelle" & Zonen') == {"gemeente", "sector-a"}
    assert zones_of(found, "Buitenbeentje") == set()  # outside every polygon
    assert zones_of(found, "Buitenbeentje", "manual") == {"park-noord"}  # from the CSV, kept apart
    assert len(addresses) == 6 and "nacht@staal-noord.example" in addresses

    async with factory() as session, session.begin():
        again = await import_csv(session, network_id, _text("subscribers_good.csv"), create_groups=True)
    assert (again.created, again.updated, again.unchanged, again.addresses_added) == (0, 0, 5, 0)
    async with factory() as session:
        assert await memberships(session) == found


async def test_bad_lines_are_reported_and_never_half_applied(sessions: tuple[SessionFactory, int]) -> None:
    factory, network_id = sessions
    async with factory() as session, session.begin():
        await import_zones(session, network_id, _text("zones.geojson"))
        result = await import_csv(
            session, network_id, _text("subscribers_bad.csv"), create_groups=["transport", "politie-ploegen"]
        )
    assert [e.line for e in result.errors] == [3, 4, 5, 6, 7, 10, 11]
    assert "unknown group 'vrijwilligers'" in str(result.errors[4])
    async with factory() as session:
        companies = set(await session.scalars(select(Subscriber.company)))
        addresses = set(await session.scalars(select(SubscriberAddress.address)))
    assert companies == {"Goed BV", "Meerregelig BV", "Ook Goed NV"}
    assert addresses == {"info@goed.example", "karel@lang.example", "mia@ookgoed.example"}
    assert "ok@fout.example" not in addresses  # the valid address of a refused line is not applied either


async def test_dry_run_changes_nothing(sessions: tuple[SessionFactory, int]) -> None:
    factory, network_id = sessions
    async with factory() as session:
        transaction = await session.begin()
        await import_zones(session, network_id, _text("zones.geojson"))
        result = await import_csv(session, network_id, _text("subscribers_good.csv"), create_groups=True)
        await transaction.rollback()
    assert result.created == 5 and any("new subscriber Staal Noord NV" in line for line in result.changes)
    async with factory() as session:
        assert list(await session.scalars(select(Subscriber.id))) == []
        assert list(await session.scalars(select(Zone.id))) == []


async def _stale(session: AsyncSession, company: str, zone: str) -> None:
    """Plant a computed membership no polygon justifies: only a recomputation of it would remove it."""
    subscriber = await session.scalar(select(Subscriber.id).where(Subscriber.company == company))
    zone_id = await session.scalar(select(Zone.id).where(Zone.slug == zone))
    session.add(ZoneMembership(subscriber_id=subscriber, zone_id=zone_id, source="computed"))


async def test_moving_a_subscriber_recomputes_only_its_zones(sessions: tuple[SessionFactory, int]) -> None:
    factory, network_id = sessions
    await _load(factory, network_id)
    async with factory() as session, session.begin():
        await _stale(session, "Chemie Zuid BV", "park-noord")
    moved = _text("subscribers_good.csv").replace("51.04,5.08,,transport", "51.12,5.06,,transport")
    moved = moved.replace('"Oostweg 4, 3900 Testdorp",51.12,5.12', '"Noordlaan 7, 3900 Testdorp",51.11,5.08')
    async with factory() as session, session.begin():
        result = await import_csv(session, network_id, moved, create_groups=True)
    assert (result.updated, result.unchanged) == (2, 3)
    assert any("De Snelle" in line and "street; location" in line for line in result.changes)
    async with factory() as session:
        found = await memberships(session)
    assert zones_of(found, 'Transport "De Snelle" & Zonen') == {"gemeente", "sector-a", "park-noord"}
    assert zones_of(found, "Chemie Zuid BV") == {"gemeente", "sector-a", "park-noord"}  # moved north
    assert zones_of(found, "Staal Noord NV") == {"gemeente", "sector-a", "park-noord"}


async def test_changing_a_zone_recomputes_only_that_zone(sessions: tuple[SessionFactory, int]) -> None:
    factory, network_id = sessions
    await _load(factory, network_id)
    async with factory() as session, session.begin():
        await _stale(session, "Staal Noord NV", "park-zuid")  # park-zuid keeps its polygon: stays
        await _stale(session, "Buitenbeentje", "park-noord")  # park-noord changes: corrected
    async with factory() as session, session.begin():
        result = await import_zones(session, network_id, _text("zones_changed.geojson"))
    assert (result.reshaped, result.renamed) == (["park-noord"], ["park-zuid"])
    assert sorted(result.unchanged) == ["gemeente", "sector-a"]
    assert result.memberships == {"park-noord": 3}  # the corner of Ploeg Vroeg is on its boundary
    async with factory() as session:
        found = await memberships(session)
        name = await session.scalar(select(Zone.name).where(Zone.slug == "park-zuid"))
    assert name == "Park Zuid (vernieuwd)"
    assert "park-noord" in zones_of(found, 'Transport "De Snelle" & Zonen')  # now inside the wider park
    assert zones_of(found, "Buitenbeentje") == set()  # the stale computed row of the changed zone is gone
    assert zones_of(found, "Buitenbeentje", "manual") == {"park-noord"}  # manual rows are never touched
    assert "park-zuid" in zones_of(found, "Staal Noord NV")  # an unchanged zone is not recomputed


async def test_bad_geojson_is_refused_whole(sessions: tuple[SessionFactory, int]) -> None:
    factory, network_id = sessions
    async with factory() as session, session.begin():
        with pytest.raises(ZoneError) as refused:
            await import_zones(session, network_id, _text("zones_bad.geojson"))
    problems = "\n".join(map(str, refused.value.problems))
    for expected in ("duplicate slug 'gemeente'", "Self-intersection", "unknown parent 'bestaat-niet'"):
        assert expected in problems
    assert "coordinate [5.1, 95.0] out of range" in problems
    async with factory() as session:
        assert list(await session.scalars(select(Zone.id))) == []


async def test_zones_not_in_the_file_are_kept_unless_pruned(sessions: tuple[SessionFactory, int]) -> None:
    factory, network_id = sessions
    await _load(factory, network_id)
    text = _text("zones.geojson")
    start = text.index('{\n   "type": "Feature",\n   "properties": {\n    "slug": "park-zuid"')
    without = text[:start].rstrip().rstrip(",") + "\n ]\n}\n"
    async with factory() as session, session.begin():
        kept = await import_zones(session, network_id, without)
    assert kept.kept == ["park-zuid"]
    async with factory() as session, session.begin():
        pruned = await import_zones(session, network_id, without, prune=True)
    assert pruned.removed == ["park-zuid"]
    async with factory() as session:
        assert "park-zuid" not in {zone for _, zone, _ in await memberships(session)}


async def test_export_writes_the_import_format_back(sessions: tuple[SessionFactory, int]) -> None:
    factory, network_id = sessions
    await _load(factory, network_id)
    async with factory() as session:
        exported = await export_csv(session, network_id)
    zones, groups = {"gemeente", "sector-a", "park-noord", "park-zuid"}, {"transport", "politie-ploegen"}
    original = parse_subscribers(_text("subscribers_good.csv"), zones=zones, groups=groups).rows
    again = parse_subscribers(exported, zones=zones, groups=groups)
    assert again.errors == ()

    def key(rows: tuple) -> set[tuple[object, ...]]:  # type: ignore[type-arg]
        return {(r.company, r.contact, frozenset(r.addresses), r.street, r.zones, r.groups) for r in rows}

    assert key(again.rows) == key(original)
    async with factory() as session, session.begin():
        result = await import_csv(session, network_id, exported)
    assert (result.created, result.updated, result.errors) == (0, 0, ())
