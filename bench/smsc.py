"""An in-process SMSC for the tests and the benchmark: a small asyncio SMPP 3.4 server on a free
loopback port, on ``smpplib``'s PDU codec (the library the relay's client encodes with; of the
relay's own code only ``answer_to`` and the GSM decoder).

It binds transceivers (checking the password), answers each ``submit_sm`` with the statuses a test
lines up for that number (throttling, a permanent refusal), then with a message id, and sends a
``deliver_sm`` delivery receipt (``stat:DELIVRD``, or the state lined up) for every part it took.
``rate``: the most submits it answers per second (0: as fast as it can).
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from smpplib import consts
from smpplib.smpp import make_pdu, parse_pdu

from save_relay.channels.smpp import answer_to
from save_relay.core import gsm

SYSTEM_ID, PASSWORD = "saverelay", "s3cret!"
THROTTLED = consts.SMPP_ESME_RTHROTTLED
INVALID_DESTINATION = consts.SMPP_ESME_RINVDSTADR


class _Sequence:
    def __init__(self) -> None:
        self.sequence = 0

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence


@dataclass
class Submitted:
    number: str  # without the +
    sender: str
    text: str
    data_coding: int
    esm_class: int
    payload: bytes
    message_id: str
    at: float


@dataclass
class Smsc:
    answers: dict[str, list[int]] = field(
        default_factory=lambda: defaultdict(list)
    )  # number -> statuses first
    receipt_states: dict[str, str] = field(default_factory=dict)  # number -> stat of its receipts (DELIVRD)
    receipt_delay: float = 0.05
    rate: float = 0.0
    send_receipts: bool = True
    submitted: list[Submitted] = field(default_factory=list)
    refused: list[tuple[str, int]] = field(default_factory=list)
    binds: list[tuple[str, str]] = field(default_factory=list)
    server: asyncio.Server | None = None
    _count: int = 0
    _next_at: float = 0.0
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    def settings(self, **extra: Any) -> dict[str, Any]:
        """An ``[networks.X.sms]`` section pointing here."""
        smpp = {"host": "127.0.0.1", "port": self.port, "system_id": SYSTEM_ID, "password": PASSWORD}
        return {"transport": "smpp", "sender": "SaVE Lommel", "smpp": smpp | extra.pop("smpp", {}), **extra}

    def texts(self, number: str) -> list[str]:
        """The texts of the parts taken for ``number`` (E.164 or without +), in order."""
        return [s.text for s in self.submitted if s.number == number.lstrip("+")]

    async def start(self) -> Smsc:
        self.server = await asyncio.start_server(self._session, "127.0.0.1", 0)
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        if self.server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)

    async def _read(self, reader: asyncio.StreamReader) -> bytes:
        head = await reader.readexactly(4)
        (size,) = struct.unpack(">L", head)
        return head + await reader.readexactly(size - 4)

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seq = _Sequence()
        self._writers.add(writer)
        try:
            while True:
                pdu = parse_pdu(await self._read(reader), client=seq)
                if pdu.command == "bind_transceiver":
                    login = (pdu.system_id.decode(), pdu.password.decode())
                    self.binds.append(login)
                    ok = login == (SYSTEM_ID, PASSWORD)
                    status = consts.SMPP_ESME_ROK if ok else consts.SMPP_ESME_RINVPASWD
                    answer = answer_to("bind_transceiver_resp", pdu, seq, status=status, system_id="smsc")
                    writer.write(answer.generate())
                elif pdu.command == "submit_sm":
                    await self._submit(pdu, seq, writer)
                elif pdu.command == "enquire_link":
                    writer.write(answer_to("enquire_link_resp", pdu, seq).generate())
                elif pdu.command == "unbind":
                    writer.write(answer_to("unbind_resp", pdu, seq).generate())
                    await writer.drain()
                    break
                # deliver_sm_resp and other answers: nothing to do
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _submit(self, pdu: Any, seq: _Sequence, writer: asyncio.StreamWriter) -> None:
        if self.rate:
            now = time.monotonic()
            self._next_at = max(now, self._next_at) + 1 / self.rate
            if self._next_at - 1 / self.rate > now:
                await asyncio.sleep(self._next_at - 1 / self.rate - now)
        number = pdu.destination_addr.decode()
        lined_up = self.answers.get(number)
        if lined_up:
            status = lined_up.pop(0)
            self.refused.append((number, status))
            writer.write(answer_to("submit_sm_resp", pdu, seq, status=status).generate())
            return
        self._count += 1
        message_id = f"smsc-{self._count}"
        udh = bool(pdu.esm_class & gsm.UDHI)
        self.submitted.append(
            Submitted(
                number=number,
                sender=pdu.source_addr.decode(),
                text=gsm.decode(pdu.short_message, pdu.data_coding, udh),
                data_coding=pdu.data_coding,
                esm_class=pdu.esm_class,
                payload=pdu.short_message,
                message_id=message_id,
                at=time.monotonic(),
            )
        )
        answer = answer_to("submit_sm_resp", pdu, seq, message_id=message_id)
        writer.write(answer.generate())
        if self.send_receipts:
            task = asyncio.create_task(self._receipt(writer, seq, number, message_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _receipt(
        self, writer: asyncio.StreamWriter, seq: _Sequence, number: str, message_id: str
    ) -> None:
        await asyncio.sleep(self.receipt_delay)
        stat = self.receipt_states.get(number, "DELIVRD")
        dates = "submit date:2612060210 done date:2612060210"
        text = f"id:{message_id} sub:001 dlvrd:001 {dates} stat:{stat} err:000"
        receipt = make_pdu(
            "deliver_sm",
            client=seq,
            service_type="",
            source_addr_ton=1,
            source_addr_npi=1,
            source_addr=number,
            dest_addr_ton=5,
            dest_addr_npi=0,
            destination_addr="SaVE",
            esm_class=0x04,
            protocol_id=0,
            priority_flag=0,
            schedule_delivery_time="",
            validity_period="",
            registered_delivery=0,
            replace_if_present_flag=0,
            data_coding=0,
            sm_default_msg_id=0,
            short_message=text.encode(),
            receipted_message_id=message_id,
            message_state=2 if stat == "DELIVRD" else 5,
        )
        if writer.is_closing():  # the client is gone: its receipts with it
            return
        with contextlib.suppress(Exception):
            writer.write(receipt.generate())
            await writer.drain()
