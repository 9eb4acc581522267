"""Why either API refuses a request before its own rules apply: malformed fields, no valid token, a role that may
not, a body too large. Each type maps to one problem in `servicekit.problems`; each API adds its own errors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


class FieldIssue(Protocol):
    """One bad input field: a camelCase path such as `items[2].unitPrice`, and what is wrong with it.

    A protocol, so an API's own field errors (the writer's domain has its own, and imports no web package) render
    as problems too."""

    @property
    def field(self) -> str: ...

    @property
    def message(self) -> str: ...


@dataclass(frozen=True, slots=True)
class FieldError:
    """A `FieldIssue` for errors found outside a domain: headers, query parameters, FastAPI's own validation."""

    field: str
    message: str


class ServiceError(Exception):
    """Base of the errors every API answers the same way."""


class InvalidRequest(ServiceError):
    """Request metadata (a header, a path or query parameter) is malformed; `errors` names each bad field."""

    def __init__(self, errors: Sequence[FieldIssue]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(f"{error.field}: {error.message}" for error in self.errors))


class Unauthenticated(ServiceError):
    """No bearer token, or one that is malformed, badly signed, expired or for another audience."""

    def __init__(self, detail: str, *, token_presented: bool) -> None:
        super().__init__(detail)
        self.token_presented = token_presented


class PermissionDenied(ServiceError):
    """The caller is known but its roles do not allow this request."""


class RequestTooLarge(ServiceError):
    """The request body is larger than the configured limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body exceeds {limit} bytes")
        self.limit = limit


class Unavailable(ServiceError):
    """The service cannot take this request now (too busy, a key source unreachable); retry after `retry_after_s`."""

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class TooManyRequests(ServiceError):
    """This caller already has as much work in flight as it may; retry after `retry_after_s`."""

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s
