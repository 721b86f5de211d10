"""An SMPP 3.4 transceiver session on asyncio, its PDUs encoded and decoded by ``smpplib``.

``smpplib``'s own client is a blocking socket loop meant for a thread; its PDU classes are plain
encode/decode, so the session here is ours: one connection per network, bound as a transceiver,
up to ``window`` submits awaiting their ``submit_sm_resp`` (matched by sequence number), the SMSC's
``deliver_sm`` receipts answered and handed to ``on_receipt``, ``enquire_link`` answered. A lost
connection fails what is in flight (retried by the queue) and is opened again by the next submit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import struct
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from smpplib import consts
from smpplib.smpp import make_pdu, parse_pdu

from save_relay.core.sms_settings import SmppSettings

log = logging.getLogger(__name__)

#: Answers worth another try later: throttled, queue full, a system error at the SMSC, a temporary
#: application error. Any other error status is permanent for that message (bad number, refused).
TRANSIENT = frozenset(
    {consts.SMPP_ESME_RTHROTTLED, consts.SMPP_ESME_RMSGQFUL, consts.SMPP_ESME_RSYSERR, 0x00000064}
)
MAX_PDU = 64 * 1024
#: ``message_state`` of a receipt (SMPP 3.4 5.2.28) as the ``stat:`` word of its text.
STATES = {1: "ENROUTE", 2: "DELIVRD", 3: "EXPIRED", 4: "DELETED", 5: "UNDELIV", 6: "ACCEPTD", 7: "UNKNOWN"}
STATES |= {8: "REJECTD"}
_ID = re.compile(rb"\bid:(\S+)")
_STAT = re.compile(rb"\bstat:(\w+)")
_ERR = re.compile(rb"\berr:(\w+)")

Receipt = Callable[[str, str, str | None], Coroutine[Any, Any, None]]  # message id, state, error code


class SmppError(Exception):
    """A session that could not be opened or was lost (the queue retries)."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int  # command_status of the submit_sm_resp (0: taken)
    message_id: str

    @property
    def description(self) -> str:
        return f"SMPP 0x{self.status:08X} {consts.DESCRIPTIONS.get(self.status, 'unknown status')}"


class _Sequence:
    """What ``smpplib``'s PDUs ask of a client: the next sequence number (1 .. 0x7FFFFFFF)."""

    def __init__(self) -> None:
        self.sequence = 0

    def next_sequence(self) -> int:
        self.sequence = self.sequence % 0x7FFFFFFF + 1
        return self.sequence


def answer_to(name: str, request: Any, sequence: Any, **fields: Any) -> Any:
    """The response PDU ``name`` to ``request``, under the request's sequence number: ``smpplib``'s
    ``sequence=`` argument is ignored whenever its client has a counter (``Command._set_vars`` sets only
    unset attributes, and ``sequence`` then reads the client's), so it is set afterwards."""
    pdu = make_pdu(name, client=sequence, **fields)
    pdu.sequence = request.sequence
    return pdu


def text_of(value: Any) -> str:
    if isinstance(value, bytes):
        return value.rstrip(b"\0").decode("latin-1")
    return "" if value is None else str(value)


async def read_pdu(reader: asyncio.StreamReader) -> bytes:
    """One whole PDU (header and body) from the stream."""
    head = await reader.readexactly(4)
    (size,) = struct.unpack(">L", head)
    if not 16 <= size <= MAX_PDU:
        raise SmppError(f"a PDU of {size} bytes")
    return head + await reader.readexactly(size - 4)


def receipt_of(pdu: Any) -> tuple[str, str, str | None] | None:
    """A ``deliver_sm`` receipt as (message id, state, error), None if it is no receipt."""
    if not (pdu.esm_class or 0) & 0x04:  # SMSC delivery receipt
        return None
    body = pdu.short_message or b""
    body = body if isinstance(body, bytes) else str(body).encode()
    found = _ID.search(body)
    message_id = text_of(pdu.receipted_message_id) or (found.group(1).decode("latin-1") if found else "")
    stat = _STAT.search(body)
    state = stat.group(1).decode("latin-1") if stat else STATES.get(pdu.message_state or 0, "UNKNOWN")
    err = _ERR.search(body)
    return (message_id, state, err.group(1).decode("latin-1") if err else None) if message_id else None


class SmppSession:
    """One transceiver bind; ``submit`` opens it when needed."""

    def __init__(self, conf: SmppSettings, on_receipt: Receipt) -> None:
        self.conf = conf
        self.on_receipt = on_receipt
        self.sequence = _Sequence()
        self.window = asyncio.Semaphore(conf.window)
        self._open = asyncio.Lock()
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self._receipts: set[asyncio.Task[None]] = set()

    @property
    def bound(self) -> bool:
        return self._writer is not None and not self._writer.is_closing()

    def _send(self, pdu: Any) -> None:
        assert self._writer is not None
        self._writer.write(pdu.generate())

    async def _request(self, pdu: Any) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[pdu.sequence] = future
        try:
            self._send(pdu)
            return await asyncio.wait_for(future, self.conf.timeout)
        finally:
            self._waiting.pop(pdu.sequence, None)

    async def _connect(self) -> None:
        conf = self.conf
        try:
            reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(conf.host, conf.port), conf.timeout
            )
        except (OSError, TimeoutError) as exc:
            raise SmppError(f"no connection to {conf.host}:{conf.port}: {exc}") from None
        self._reader_task = asyncio.create_task(self._read(reader), name="smpp-reader")
        bind = make_pdu(
            "bind_transceiver",
            client=self.sequence,
            system_id=conf.system_id,
            password=conf.password.get_secret_value(),
            system_type=conf.system_type,
            interface_version=0x34,
            addr_ton=0,
            addr_npi=0,
            address_range="",
        )
        try:
            answer = await self._request(bind)
        except (TimeoutError, SmppError, ConnectionError) as exc:
            await self.close()
            raise SmppError(f"bind to {conf.host}:{conf.port} failed: {exc or type(exc).__name__}") from None
        if answer.status != consts.SMPP_ESME_ROK:
            await self.close()
            raise SmppError(f"bind refused: SMPP 0x{answer.status:08X}")  # never the password
        log.info("SMPP bound to %s:%d", conf.host, conf.port, extra={"action": "smpp_bound"})

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                pdu = parse_pdu(await read_pdu(reader), client=self.sequence)
                await self._handle(pdu)
        except (asyncio.IncompleteReadError, ConnectionError, SmppError) as exc:
            error = SmppError(f"connection lost: {exc or type(exc).__name__}")
        except Exception as exc:  # an undecodable PDU: drop the session, the queue retries
            log.exception("SMPP read failed", extra={"action": "smpp_error"})
            error = SmppError(f"undecodable PDU: {type(exc).__name__}")
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(error)
        if self._writer is not None:
            self._writer.close()
        self._writer = None

    async def _handle(self, pdu: Any) -> None:
        if pdu.is_response():
            future = self._waiting.get(pdu.sequence)
            if future is not None and not future.done():
                future.set_result(pdu)
            return
        if pdu.command == "deliver_sm":
            self._send(answer_to("deliver_sm_resp", pdu, self.sequence))
            if (found := receipt_of(pdu)) is not None:
                task = asyncio.create_task(self.on_receipt(*found))
                self._receipts.add(task)
                task.add_done_callback(self._receipts.discard)
        elif pdu.command == "enquire_link":
            self._send(answer_to("enquire_link_resp", pdu, self.sequence))
        elif pdu.command == "unbind":
            self._send(answer_to("unbind_resp", pdu, self.sequence))
        else:
            self._send(answer_to("generic_nack", pdu, self.sequence, status=consts.SMPP_ESME_RINVCMDID))

    async def submit(
        self, *, sender: str, number: str, payload: bytes, data_coding: int, esm_class: int
    ) -> Answer:
        """Submit one part; raises :class:`SmppError` (or ``TimeoutError``) when there is no answer."""
        async with self.window:
            async with self._open:
                if not self.bound:
                    await self._connect()
            alphanumeric = not sender.lstrip("+").isdigit()
            pdu = make_pdu(
                "submit_sm",
                client=self.sequence,
                service_type="",
                source_addr_ton=consts.SMPP_TON_ALNUM if alphanumeric else consts.SMPP_TON_INTL,
                source_addr_npi=consts.SMPP_NPI_UNK if alphanumeric else consts.SMPP_NPI_ISDN,
                source_addr=sender.lstrip("+"),
                dest_addr_ton=consts.SMPP_TON_INTL,
                dest_addr_npi=consts.SMPP_NPI_ISDN,
                destination_addr=number.lstrip("+"),
                esm_class=esm_class,
                registered_delivery=1,  # a receipt, delivered or not
                data_coding=data_coding,
                short_message=payload,
            )
            answer = await self._request(pdu)
            return Answer(answer.status, text_of(getattr(answer, "message_id", None)))

    async def close(self) -> None:
        """Unbind (briefly waiting for the answer) and close."""
        writer, self._writer = self._writer, None
        if writer is not None and not writer.is_closing():
            self._writer = writer
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._request(make_pdu("unbind", client=self.sequence)), 2.0)
            self._writer = None
            writer.close()
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader_task
            self._reader_task = None
        if self._receipts:
            await asyncio.gather(*self._receipts, return_exceptions=True)
