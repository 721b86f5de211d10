"""The webhooks' pure parts: signatures (checked with the reference library), which event goes where,
what an HTTP answer means for the queue, and the endpoint settings."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from save_relay.channels.eligibility import eligible
from save_relay.channels.signing import headers
from save_relay.channels.worker import http_result
from save_relay.core.errors import ConfigError
from save_relay.core.settings import load_settings
from save_relay.core.states import ChannelEvent
from save_relay.core.webhook_settings import WebhookSettings, secret_key

SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
BODY = b'{"type":"report.approved","data":{"reference":"SAVE-2026-000001"}}'


def endpoint(**extra: object) -> WebhookSettings:
    return WebhookSettings.model_validate(
        {"name": "meldkamer", "url": "https://meldkamer.example/hooks", "secret": SECRET, **extra}
    )


def test_our_signature_verifies_with_standardwebhooks() -> None:
    now = int(time.time())
    signed = headers(secret_key(SECRET), "msg_7", now, BODY)
    assert Webhook(SECRET).verify(BODY, signed) == {
        "type": "report.approved",
        "data": {"reference": "SAVE-2026-000001"},
    }
    assert signed["webhook-signature"] == Webhook(SECRET).sign("msg_7", _dt(now), BODY.decode())


def _dt(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


@pytest.mark.parametrize(
    "change",
    [
        lambda h, b: (h, b.replace(b"000001", b"000002")),  # a tampered body
        lambda h, b: ({**h, "webhook-id": "msg_8"}, b),  # another id
        lambda h, b: (headers(secret_key(SECRET), "msg_7", int(time.time()) - 600, b), b),  # 10 min old
        lambda h, b: (headers(secret_key(SECRET), "msg_7", int(time.time()) + 600, b), b),  # from the future
    ],
)
def test_a_changed_message_or_an_old_timestamp_fails(change) -> None:  # type: ignore[no-untyped-def]
    signed, body = change(headers(secret_key(SECRET), "msg_7", int(time.time()), BODY), BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(body, signed)


def test_eligibility_event_filter_zones_and_tlp_red() -> None:
    everything = endpoint()
    assert eligible(everything, ChannelEvent.REPORT_APPROVED, ["maatheide"])
    assert eligible(everything, ChannelEvent.CANVASS_SENT, [])
    assert not eligible(everything, ChannelEvent.REPORT_APPROVED, ["maatheide"], tlp="RED")
    assert not eligible(everything, ChannelEvent.REPORT_APPROVED, ["maatheide"], tlp="TLP:RED")
    assert eligible(everything, ChannelEvent.REPORT_APPROVED, ["maatheide"], tlp="TLP:AMBER")
    only = endpoint(events=["report.approved"], zones=["blauwe-kei"])
    assert eligible(only, ChannelEvent.REPORT_APPROVED, ["maatheide", "blauwe-kei"])
    assert not eligible(only, ChannelEvent.REPORT_APPROVED, ["maatheide"])
    assert not eligible(only, ChannelEvent.REPORT_REJECTED, ["blauwe-kei"])
    assert not eligible(only, ChannelEvent.CANVASS_SENT, [])


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (200, 250),
        (204, 250),
        (408, 451),
        (429, 451),
        (500, 451),
        (503, 451),
        (400, 554),
        (401, 554),
        (404, 554),
        (410, 554),
        (301, 554),
    ],
)
def test_http_answers_map_to_sent_retry_or_failed(status: int, code: int) -> None:
    assert http_result(status, "x").code == code


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("secret", "geheim", "must start with whsec_"),
        ("secret", "whsec_!!!", "followed by base64"),
        ("secret", "whsec_" + base64.b64encode(b"short").decode(), "24 to 64 bytes"),
        ("url", "http://meldkamer.example/hooks", "https://"),
        ("url", "ftp://meldkamer.example/", "https://"),
        ("events", ["report.deleted"], "report.approved"),
    ],
)
def test_bad_endpoint_settings_are_named(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        endpoint(**{field: value})


def test_the_secret_is_masked_and_never_shown_whole(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "relay.toml"
    config.write_text(
        f"""
[networks.industrie]
address = "industrie@politie.lommel.be"
name = "SaVE Lommel"
moderators = ["inspecteur.peeters@politie.lommel.be"]

[[networks.industrie.webhooks]]
name = "meldkamer"
url = "http://127.0.0.1:8080/hooks"
secret = "{SECRET}"
""",
        encoding="utf-8",
    )
    conf = load_settings(config)
    hook = conf.networks["industrie"].webhooks[0]
    assert SECRET in conf.secrets()  # masked in every log line
    assert SECRET not in repr(conf) and SECRET not in str(hook)
    assert hook.shown_secret() == SECRET[:10] + "…"
    config.write_text(
        config.read_text() + '\n[[networks.industrie.webhooks]]\nname = "meldkamer"\n'
        f'url = "https://x.example/"\nsecret = "{SECRET}"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="each webhook name only once"):
        load_settings(config)
