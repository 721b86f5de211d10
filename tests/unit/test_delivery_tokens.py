"""Delivery tokens: a random part that opens, then the delivery id that only finds (``core.tokens``)."""

from __future__ import annotations

import pytest

from save_relay.core.tokens import RANDOM_LENGTH, delivery_id_of, delivery_token, looks_like_token, new_token


@pytest.mark.parametrize("delivery_id", [1, 31, 32, 1_000_000, 2**63 - 1])
def test_a_delivery_token_carries_its_id(delivery_id: int) -> None:
    token = delivery_token(delivery_id)
    assert looks_like_token(token) and token == token.lower()
    assert delivery_id_of(token) == delivery_id
    assert delivery_id_of(token.upper()) == delivery_id  # mail systems may fold the case


def test_each_delivery_token_is_fresh_and_random() -> None:
    tokens = {delivery_token(7) for _ in range(100)}
    assert len(tokens) == 100
    assert len({t[:RANDOM_LENGTH] for t in tokens}) == 100
    assert {t[RANDOM_LENGTH:] for t in tokens} == {"h"}  # 7 in base32


@pytest.mark.parametrize(
    "token",
    [new_token(), "", "a" * 25, "a" * 26 + "1", "a" * 26 + "b" * 14, "a" * 26 + "a" * 13, "x" * 26 + "-b"],
    ids=["plain", "empty", "short", "digit", "too-long", "odd-length", "dash"],  # stable: test workers agree
)
def test_no_id_in_plain_or_malformed_tokens(token: str) -> None:
    assert delivery_id_of(token) is None


def test_the_id_must_be_positive() -> None:
    with pytest.raises(ValueError):
        delivery_token(0)
