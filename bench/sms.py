"""sms: an urgent distribution to N numbers and N addresses, SMS throughput against the in-process SMSC.

``python -m bench.sms [--runs 3] [--numbers 1000] [--window 50]``. Each run: a real Relay on a fresh
SQLite database, N generated subscribers of one zone each with one address and one mobile number,
one report approved as urgent (the CLI path, one transaction); the mail goes to the aiosmtpd sink
(bench/sink.py), the SMS to the SMSC of bench/smsc.py (smpplib's codec, answering at full speed).

Measured from the approval's commit: the last SMS taken at the SMSC, every SMS recorded sent, the
last mail at the sink. The baseline, in the same round: a plain client loop at full speed, one SMPP
bind with the same window submitting the same N texts (no queue, no database): the server's own rate.
Checks: each number got exactly one SMS, every SMS row is sent, every address got the mail.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select

from bench import fanout, generate
from bench.sink import Sink
from bench.smsc import PASSWORD, SYSTEM_ID, Smsc
from save_relay.channels.smpp import SmppSession
from save_relay.core import gsm
from save_relay.core.settings import load_settings
from save_relay.core.sms_settings import SmppSettings
from save_relay.moderation.decide import Decision, decide
from save_relay.processing.gate import Actor
from save_relay.store.reports import by_reference
from save_relay.store.tables import Base, Delivery, Subscriber

RESULTS = Path(__file__).resolve().parent / "results"
TEXT = "SAVE-2026-000001: Koperdiefstal Balendijk, wit busje 1-ABC-123, twee mannen in donkere kledij"


def number(i: int) -> str:
    return f"+3247{i:07d}"


@dataclass(frozen=True, slots=True)
class Round:
    numbers: int
    sms_seconds: float  # commit -> last SMS taken at the SMSC
    recorded_seconds: float  # commit -> every SMS row recorded sent
    mail_seconds: float  # commit -> last mail at the sink
    baseline_seconds: float  # the plain client loop, same N and window

    @property
    def sms_per_second(self) -> float:
        return self.numbers / self.sms_seconds

    @property
    def baseline_per_second(self) -> float:
        return self.numbers / self.baseline_seconds


async def baseline(smsc: Smsc, n: int, window: int) -> float:
    """Seconds for one bind to submit ``n`` texts at full speed, ``window`` in flight."""
    conf = SmppSettings(
        host="127.0.0.1", port=smsc.port, system_id=SYSTEM_ID, password=PASSWORD, window=window
    )

    async def ignore(message_id: str, state: str, error: str | None) -> None:
        return None

    session = SmppSession(conf, ignore)
    part = gsm.segment(TEXT).parts[0]
    await session.submit(
        sender="SaVE", number="+32400000000", payload=part.payload, data_coding=0, esm_class=0
    )
    started = time.monotonic()
    await asyncio.gather(
        *(
            session.submit(sender="SaVE", number=number(i), payload=part.payload, data_coding=0, esm_class=0)
            for i in range(n)
        )
    )
    seconds = time.monotonic() - started
    await session.close()
    return seconds


async def run_once(sink: Sink, n: int, window: int, timeout: float = 120.0) -> Round:
    smsc = await Smsc(send_receipts=True).start()
    try:
        base = await baseline(smsc, n, window)
        smsc.submitted.clear()
        with tempfile.TemporaryDirectory(prefix="save-relay-bench-sms-") as tmp:
            settings = fanout.settings_for(Path(tmp), sink.port)
            settings.networks["industrie"].sms = (
                load_settings(
                    None,
                    networks={
                        "x": {
                            "address": "x@x.example",
                            "name": "x",
                            "moderators": ["m@x.example"],
                            "sms": {
                                "sender": "SaVE Lommel",
                                "rate": 10_000,  # no cap: the SMSC's own pace is measured
                                "smpp": {
                                    "host": "127.0.0.1",
                                    "port": smsc.port,
                                    "system_id": SYSTEM_ID,
                                    "password": PASSWORD,
                                    "window": window,
                                },
                            },
                        }
                    },
                )
                .networks["x"]
                .sms
            )
            return await _measure(settings, sink, smsc, n, base, timeout)
    finally:
        await smsc.stop()


async def _measure(settings: object, sink: Sink, smsc: Smsc, n: int, base: float, timeout: float) -> Round:
    from save_relay.app import Relay

    relay = Relay(settings)  # type: ignore[arg-type]
    await relay.start()
    try:
        assert relay.ctx is not None and relay.worker is not None and relay.sms is not None
        network_id = relay.ctx.networks["industrie"].id
        async with relay.sessions() as session, session.begin():
            population = await generate.load(session, network_id, n)
            ids = list(
                await session.scalars(
                    select(Subscriber.id).where(Subscriber.network_id == network_id).order_by(Subscriber.id)
                )
            )
            phones = Base.metadata.tables["subscriber_phones"]
            now = datetime.now(UTC)
            await session.execute(
                insert(phones),
                [
                    {"subscriber_id": s, "number": number(i), "sms": True, "created_at": now}
                    for i, s in enumerate(ids)
                ],
            )
        reference = await fanout.post_report(relay.smtp_port)
        await fanout.wait_announced(relay, reference)
        sink.reset()
        async with relay.sessions() as session, session.begin():
            report = await by_reference(session, reference)
            decision = Decision("approve", zones=[population.zone_slug], urgent=True, sms_text=TEXT)
            applied = await decide(session, relay.ctx, report, decision, Actor(name="bench", via="cli"))
        committed = time.monotonic()
        relay.worker.wake()
        relay.sms.wake()
        deadline = committed + timeout
        while len(smsc.submitted) < n and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        sms_at = max(s.at for s in smsc.submitted)
        while time.monotonic() < deadline:
            async with relay.sessions() as session:
                statuses = Counter(
                    await session.scalars(select(Delivery.status).where(Delivery.kind == "sms"))
                )
            if statuses == {"sent": n}:
                break
            await asyncio.sleep(0.02)
        recorded_at = time.monotonic()
        await sink.wait_matched(n, timeout)
        mail_at = sink.last_at
        taken = Counter(s.number for s in smsc.submitted)
        if applied.sms != n or set(taken.values()) != {1} or len(taken) != n or statuses != {"sent": n}:
            raise AssertionError(
                f"SMS queued {applied.sms}, taken {len(taken)} numbers, rows {dict(statuses)}"
            )
        fanout.check_exactly_once(sink.dump(), population.addresses)
    finally:
        await relay.stop()
    return Round(n, sms_at - committed, recorded_at - committed, mail_at - committed, base)


def _median(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sms", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--numbers", type=int, default=1000, help="numbers and addresses (one each per subscriber)"
    )
    parser.add_argument(
        "--window", type=int, default=50, help="SMPP submits in flight, relay and baseline alike"
    )
    args = parser.parse_args(argv)
    sink = Sink()
    rounds: list[Round] = []
    load_before = os.getloadavg()[0]
    try:
        for _ in range(args.runs):
            rounds.append(asyncio.run(run_once(sink, args.numbers, args.window)))
    finally:
        sink.stop()
    summary = {
        "relay_sms_per_second": _median([r.sms_per_second for r in rounds]),
        "baseline_sms_per_second": _median([r.baseline_per_second for r in rounds]),
        "ratio": _median([r.sms_per_second / r.baseline_per_second for r in rounds]),
        "recorded_seconds": _median([r.recorded_seconds for r in rounds]),
        "mail_seconds": _median([r.mail_seconds for r in rounds]),
    }
    for key, value in summary.items():
        print(f"{key:<24} {value['median']:10.2f}  ({value['min']:.2f}-{value['max']:.2f})")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{datetime.now(UTC):%Y-%m-%d}-sms.json"
    out.write_text(
        json.dumps(
            {
                "parameters": vars(args) | {"sink": sink.name, "python": platform.python_version()},
                "load_before": load_before,
                "load_after": os.getloadavg()[0],
                "runs": [asdict(r) for r in rounds],
                "summary": summary,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"written: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
