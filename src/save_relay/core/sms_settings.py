"""A network's SMS gateway (``[networks.X.sms]``): SMPP or a plain HTTP gateway, and its rate cap.

Secrets (the SMPP password, the gateway's token) are ``SecretStr``: printing the settings shows
``**********`` and ``Settings.secrets`` masks them in logs. No ``[sms]`` section (or ``enabled =
false``): an urgent distribution goes by mail only, and no SMS is queued.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

LOOPBACK = ("127.0.0.1", "::1", "localhost")

#: The default HTTP request: a JSON object whose strings may name ``{to}``, ``{text}``, ``{sender}`` and
#: ``{id}`` (the delivery's id, for the gateway's idempotency key or callbacks).
DEFAULT_TEMPLATE: dict[str, Any] = {"to": "{to}", "from": "{sender}", "text": "{text}", "reference": "{id}"}


#: A gateway's word for a final state, as SMPP's receipt ``stat`` (what ``queue show`` shows).
STATES = {
    **dict.fromkeys(("delivered", "delivrd", "success", "ok"), "DELIVRD"),
    **dict.fromkeys(("failed", "undelivered", "undeliv", "error"), "UNDELIV"),
    **dict.fromkeys(("rejected", "rejectd", "refused"), "REJECTD"),
    **dict.fromkeys(("expired",), "EXPIRED"),
    **dict.fromkeys(("accepted", "acceptd", "queued", "sent", "enroute", "submitted"), "ACCEPTD"),
}


def receipt_state(value: str) -> str:
    """``delivered`` -> ``DELIVRD``; an unknown word as it is, upper-cased (16 characters at most)."""
    word = value.strip().lower()
    return STATES.get(word, word.upper()[:16])


def pick(data: Any, path: str) -> str | None:
    """``a.b.0.c`` of a JSON document, as text (None: absent, or not a plain value)."""
    for key in path.split("."):
        if isinstance(data, dict):
            data = data.get(key)
        elif isinstance(data, list) and key.isdigit() and int(key) < len(data):
            data = data[int(key)]
        else:
            return None
    return None if data is None or isinstance(data, dict | list) else str(data)


class SmppSettings(BaseModel):
    """An SMSC (or an aggregator's SMPP 3.4 server) bound as a transceiver: submits and receipts."""

    model_config = {"extra": "forbid"}

    host: str
    port: int = Field(2775, ge=1, le=65535)
    system_id: str = Field(max_length=15)
    password: SecretStr = Field(description="the bind password (at most 8 characters in SMPP 3.4)")
    system_type: str = Field("", max_length=12)
    window: int = Field(10, ge=1, le=100, description="submits awaiting their answer at once")
    timeout: float = Field(10.0, gt=0, le=120, description="seconds for a bind or a submit's answer")


class HttpGatewaySettings(BaseModel):
    """A provider's HTTP API, one POST per SMS; see README "SMS over an HTTP gateway" for the contract."""

    model_config = {"extra": "forbid"}

    url: str = Field(description="https:// URL (http:// only to loopback)")
    token: SecretStr | None = Field(None, description="sent as 'Authorization: Bearer TOKEN'")
    template: dict[str, Any] = Field(default_factory=lambda: dict(DEFAULT_TEMPLATE))
    id_field: str = Field("id", description="where the answer's JSON holds the message id (a.b.0.c)")
    status_field: str = Field(
        "status", description="where the answer's JSON holds a delivery state, if the gateway tells it"
    )
    timeout: float = Field(10.0, gt=0, le=120)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.hostname and (
            parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK)
        ):
            return value
        raise ValueError("must be an https:// URL (http:// only to 127.0.0.1, ::1 or localhost)")


class SmsSettings(BaseModel):
    """How a network sends its urgent SMS."""

    model_config = {"extra": "forbid"}

    enabled: bool = True
    transport: Literal["smpp", "http"] = "smpp"
    sender: str = Field(
        pattern=r"^(\+?[0-9]{3,15}|[A-Za-z0-9 ]{1,11})$",
        description="the sender shown: a number, or up to 11 letters and digits (alphanumeric)",
    )
    rate: float = Field(10.0, gt=0, le=10_000, description="at most this many SMS parts a second")
    max_parts: int = Field(3, ge=1, le=10, description="parts of a moderator's 'sms:' text at most")
    max_age_minutes: float = Field(
        60.0, gt=0, description="an SMS not sent this long after its approval fails instead (it is urgent)"
    )
    smpp: SmppSettings | None = None
    http: HttpGatewaySettings | None = None

    @model_validator(mode="after")
    def _transport(self) -> SmsSettings:
        if self.transport == "smpp" and self.smpp is None:
            raise ValueError("transport 'smpp' needs an [sms.smpp] section")
        if self.transport == "http" and self.http is None:
            raise ValueError("transport 'http' needs an [sms.http] section")
        return self

    def secrets(self) -> list[str]:
        found = [self.smpp.password.get_secret_value()] if self.smpp else []
        if self.http is not None and self.http.token is not None:
            found.append(self.http.token.get_secret_value())
        return found
