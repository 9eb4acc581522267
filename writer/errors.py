"""Why the writer refuses a request, apart from the domain's own reasons (`writer.domain.errors`) and those every
API shares (`servicekit.errors`: bad tokens, roles, malformed request fields, a body too large).

Each type maps to one HTTP problem in `writer.api.problems`; nothing else decides status codes.
"""

from __future__ import annotations


class WriterError(Exception):
    """Base of the application errors of the writer."""


class IdempotencyKeyReused(WriterError):
    """The Idempotency-Key was already used for a different request (other body, path or If-Match)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"idempotency key {key!r} was already used for a different request")
        self.key = key


class CommandNotFound(WriterError):
    """No accepted command has this id (or the caller may not see it)."""

    def __init__(self, command_id: str) -> None:
        super().__init__(f"no accepted command {command_id}")
        self.command_id = command_id


class StoreUnavailable(WriterError):
    """The database cannot be reached (or no connection was free in time); the client may retry."""
