"""One exception base for save-relay; each exception's docstring is its default message."""

from __future__ import annotations


class SaveRelayError(Exception):
    """save-relay failed."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())


class ConfigError(SaveRelayError):
    """The settings are invalid."""


class StorageError(SaveRelayError):
    """The database could not store the message."""


class NotFound(SaveRelayError):
    """No such record."""


class CommandRefused(SaveRelayError):
    """The moderator command was refused.

    ``refusal``: the reason as a code with parameters (``mail.i18n.Refusal``), for an answer in the
    network's language; the message itself is English, for the CLI and the logs.
    """

    def __init__(self, message: str | None = None, refusal: object | None = None) -> None:
        super().__init__(message)
        self.refusal = refusal
