"""Mobile numbers for SMS: parsed with ``phonenumbers`` (libphonenumber's data) and kept as E.164.

A number written nationally (``0470 12 34 56``) is read in the network's region (``phone_region``,
``BE`` by default); one written internationally (``+31 6 ...``, ``0031 6 ...``) in its own. Only a
number that libphonenumber deems valid and that can receive SMS (mobile, or fixed-or-mobile where a
country's plan does not tell them apart) is taken: a landline would fail at the gateway, silently.
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
MAX_CHARS = 40  # what is read of one number as typed


class InvalidNumber(ValueError):
    """Not a mobile number; ``reason``: ``unreadable``, ``invalid`` or ``not_mobile``."""

    def __init__(self, value: str, reason: str) -> None:
        super().__init__(f"invalid mobile number {value!r} ({reason.replace('_', ' ')})")
        self.value = value
        self.reason = reason


def e164(value: str, region: str = "BE") -> str:
    """``value`` as an E.164 mobile number (``+32470123456``); raises :class:`InvalidNumber`."""
    typed = value.strip()[:MAX_CHARS]
    try:
        number = phonenumbers.parse(typed, region.upper())
    except NumberParseException:
        raise InvalidNumber(typed, "unreadable") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidNumber(typed, "invalid")
    if phonenumbers.number_type(number) not in MOBILE_TYPES:
        raise InvalidNumber(typed, "not_mobile")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def shown(number: str) -> str:
    """An E.164 number as people read it (``+32 470 12 34 56``)."""
    try:
        parsed = phonenumbers.parse(number, None)
    except NumberParseException:
        return number
    return phonenumbers.format_number(parsed, PhoneNumberFormat.INTERNATIONAL)
