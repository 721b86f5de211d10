"""``[networks.X.sms]``: its validation, and its secrets masked and never printed."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from save_relay.core.logs import Masker
from save_relay.core.settings import load_settings
from save_relay.core.sms_settings import SmsSettings, pick, receipt_state

NETWORK = {
    "address": "industrie@politie.lommel.be",
    "name": "SaVE Lommel",
    "moderators": ["m@politie.lommel.be"],
}
SMPP = {"host": "127.0.0.1", "system_id": "saverelay", "password": "pw-of-smpp"}
HTTP = {"url": "https://sms.example/v1", "token": "tok-of-gateway"}


def test_the_secrets_are_masked_and_never_printed() -> None:
    conf = load_settings(
        None,
        networks={
            "a": NETWORK | {"sms": {"sender": "SaVE", "smpp": SMPP}},
            "b": NETWORK
            | {
                "address": "bin@politie.lommel.be",
                "sms": {"sender": "BIN", "transport": "http", "http": HTTP},
            },
        },
    )
    assert {"pw-of-smpp", "tok-of-gateway"} <= set(conf.secrets())
    printed = repr(conf) + str(conf.model_dump())
    assert "pw-of-smpp" not in printed and "tok-of-gateway" not in printed
    masked = Masker(conf.secrets()).text("bind with pw-of-smpp, then tok-of-gateway")
    assert "pw-of-smpp" not in masked and "tok-of-gateway" not in masked


@pytest.mark.parametrize(
    ("section", "wrong"),
    [
        ({"sender": "SaVE"}, "needs an [sms.smpp] section"),
        ({"sender": "SaVE", "transport": "http"}, "needs an [sms.http] section"),
        ({"sender": "SaVE", "transport": "http", "http": {"url": "http://sms.example/"}}, "https://"),
        ({"sender": "Twelve chars", "smpp": SMPP}, "sender"),
        ({"sender": "SaVE", "smpp": SMPP, "rate": 0}, "rate"),
    ],
)
def test_a_wrong_section_is_refused(section: dict[str, object], wrong: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(wrong)):
        SmsSettings.model_validate(section)


def test_answer_fields_and_states() -> None:
    assert pick({"messages": [{"id": 7}]}, "messages.0.id") == "7"
    assert pick({"messages": []}, "messages.0.id") is None and pick({"a": {"b": 1}}, "a") is None
    assert [receipt_state(s) for s in ("delivered", "DELIVRD", "Failed", "whatever")] == [
        "DELIVRD",
        "DELIVRD",
        "UNDELIV",
        "WHATEVER",
    ]
