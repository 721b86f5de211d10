"""An SMS text as the parts a gateway sends: GSM 03.38 (7-bit) when every character has a septet,
else UCS-2; one part up to 160 septets (70 UCS-2 units), else concatenated parts with a user data
header (UDH, 8-bit reference) of 153 septets (67 units) each.

Written here rather than taken from ``smpplib.gsm.make_parts``: that one may split an escaped
character (``€``, ``[``) or a surrogate pair between two parts and maps 0x40/0x60 wrongly. The
septets are given unpacked, one per byte, as SMPP's ``data_coding`` 0 (the SMSC's default
alphabet) expects.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The GSM 03.38 default alphabet: a character's index is its septet (0x1B, the escape, is no character).
BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: The extension table: escape (0x1B) + this septet; two septets each.
EXTENSION = {"\x0c": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C, "~": 0x3D, "]": 0x3E}
EXTENSION |= {"|": 0x40, "€": 0x65}
ESCAPE = 0x1B
_SEPTET = {char: i for i, char in enumerate(BASIC) if i != ESCAPE}
#: Typographic characters phones type that have a plain GSM twin: replaced rather than forcing UCS-2.
PLAIN = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "...", "\u00a0": " "})

GSM7, UCS2 = "gsm7", "ucs2"
SINGLE = {GSM7: 160, UCS2: 70}  # septets or UTF-16 units in a part of its own
CONCATENATED = {GSM7: 153, UCS2: 67}  # the same with the 6-byte UDH
MAX_PARTS = 255
DATA_CODING = {GSM7: 0, UCS2: 8}
UDHI = 0x40  # esm_class: the short message starts with a UDH


@dataclass(frozen=True, slots=True)
class Part:
    """One part: its text, and its short_message (UDH, if any, then the septets or UTF-16-BE)."""

    text: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class Segmented:
    encoding: str  # GSM7 or UCS2
    parts: tuple[Part, ...]

    @property
    def data_coding(self) -> int:
        return DATA_CODING[self.encoding]

    @property
    def esm_class(self) -> int:
        return UDHI if len(self.parts) > 1 else 0


def plain(text: str) -> str:
    return text.translate(PLAIN)


def is_gsm7(text: str) -> bool:
    return all(c in _SEPTET or c in EXTENSION for c in text)


def _units(char: str, encoding: str) -> int:
    """What one character costs: septets (1, or 2 escaped) or UTF-16 units (1, or 2 outside the BMP)."""
    if encoding == GSM7:
        return 2 if char in EXTENSION else 1
    return 2 if ord(char) > 0xFFFF else 1


def encoding_of(text: str) -> str:
    return GSM7 if is_gsm7(text) else UCS2


def length(text: str, encoding: str | None = None) -> int:
    """``text``'s length in septets (GSM-7) or UTF-16 units (UCS-2)."""
    encoding = encoding or encoding_of(text)
    return sum(_units(c, encoding) for c in text)


def _encode(text: str, encoding: str) -> bytes:
    if encoding == UCS2:
        return text.encode("utf-16-be")
    out = bytearray()
    for char in text:
        if char in EXTENSION:
            out += bytes((ESCAPE, EXTENSION[char]))
        else:
            out.append(_SEPTET[char])
    return bytes(out)


def _chunks(text: str, encoding: str, size: int) -> list[str]:
    """``text`` cut into pieces of at most ``size`` units, never inside a character."""
    chunks: list[str] = []
    current: list[str] = []
    used = 0
    for char in text:
        cost = _units(char, encoding)
        if used + cost > size:
            chunks.append("".join(current))
            current, used = [], 0
        current.append(char)
        used += cost
    if current:
        chunks.append("".join(current))
    return chunks


def fits(text: str, parts: int = 1) -> bool:
    """Whether ``text`` (after :func:`plain`) goes in at most ``parts`` parts."""
    text = plain(text)
    encoding = encoding_of(text)
    size = length(text, encoding)
    return size <= SINGLE[encoding] if parts == 1 else size <= CONCATENATED[encoding] * parts


def segment(text: str, reference: int = 0) -> Segmented:
    """``text`` (after :func:`plain`) as parts; ``reference`` (0..255): the concatenation's reference,
    the same in every part of one message. ValueError past ``MAX_PARTS`` parts."""
    text = plain(text)
    encoding = encoding_of(text)
    if length(text, encoding) <= SINGLE[encoding]:
        return Segmented(encoding, (Part(text, _encode(text, encoding)),))
    chunks = _chunks(text, encoding, CONCATENATED[encoding])
    if len(chunks) > MAX_PARTS:
        raise ValueError(f"an SMS of more than {MAX_PARTS} parts")
    total, ref = len(chunks), reference & 0xFF
    return Segmented(
        encoding,
        tuple(
            Part(chunk, bytes((5, 0, 3, ref, total, i)) + _encode(chunk, encoding))
            for i, chunk in enumerate(chunks, start=1)
        ),
    )


def decode(payload: bytes, data_coding: int, udh: bool) -> str:
    """A part's text back from its short_message (the tests' SMSC reads what it was sent)."""
    if udh:
        payload = payload[payload[0] + 1 :]
    if data_coding == DATA_CODING[UCS2]:
        return payload.decode("utf-16-be")
    reverse = {v: k for k, v in EXTENSION.items()}
    out, escaped = [], False
    for septet in payload:
        if escaped:
            out.append(reverse.get(septet, " "))
            escaped = False
        elif septet == ESCAPE:
            escaped = True
        else:
            out.append(BASIC[septet])
    return "".join(out)


def cut(text: str, parts: int = 1, ellipsis: str = "...") -> str:
    """``text`` (after :func:`plain`) shortened at a word, with ``ellipsis``, to fit ``parts`` parts."""
    text = plain(text)
    if fits(text, parts):
        return text
    words = text.split(" ")
    while len(words) > 1:
        words.pop()
        candidate = " ".join(words).rstrip(" ,.;:") + ellipsis
        if fits(candidate, parts):
            return candidate
    encoding = encoding_of(text)
    room = (SINGLE[encoding] if parts == 1 else CONCATENATED[encoding] * parts) - len(ellipsis)
    return _chunks(text, encoding, room)[0] + ellipsis
