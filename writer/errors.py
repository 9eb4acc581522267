"""Why the writer refuses a request, apart from the domain's own reasons (`writer.domain.errors`).

Each type maps to one HTTP problem in `writer.api.problems`; nothing else decides status codes.
"""

from __future__ import annotations

from collections.abc import Sequence

from writer.domain import FieldError


class WriterError(Exception):
    """Base of the application errors of the writer."""


class InvalidRequest(WriterError):
    """Request metadata (a header, a path parameter) is malformed; `errors` names each bad field."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(f"{error.field}: {error.message}" for error in self.errors))


class Unauthenticated(WriterError):
    """No bearer token, or one that is malformed, badly signed, expired or for another audience."""

    def __init__(self, detail: str, *, token_presented: bool) -> None:
        super().__init__(detail)
        self.token_presented = token_presented


class PermissionDenied(WriterError):
    """The caller is known but its roles do not allow this command."""


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


class RequestTooLarge(WriterError):
    """The request body is larger than the configured limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body exceeds {limit} bytes")
        self.limit = limit


class StoreUnavailable(WriterError):
    """The database cannot be reached (or no connection was free in time); the client may retry."""


class WebhookNotFound(WriterError):
    """No live webhook endpoint has this id."""

    def __init__(self, endpoint_id: str) -> None:
        super().__init__(f"no webhook endpoint {endpoint_id}")
        self.endpoint_id = endpoint_id
