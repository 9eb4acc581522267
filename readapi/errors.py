"""Why the read API refuses or cannot answer a request; each type maps to one HTTP problem in `readapi.api.problems`.

Authentication, permission and body-size errors are the service kit's (`servicekit.errors`), shared with the writer:
one token format, one meaning.
"""

from __future__ import annotations

from collections.abc import Sequence

from servicekit.errors import FieldError


class ReadApiError(Exception):
    """Base of the read API's own errors."""


class InvalidQuery(ReadApiError):
    """A query parameter is malformed or out of range (unknown sort field, bad filter, …); `errors` names each."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(f"{error.field}: {error.message}" for error in self.errors))

    @classmethod
    def of(cls, field: str, message: str) -> InvalidQuery:
        return cls([FieldError(field, message)])


class UnsupportedConsistency(ReadApiError):
    """The view cannot answer at the requested consistency level (e.g. `strong` on a list)."""

    def __init__(self, view: str, level: str, supported: Sequence[str]) -> None:
        super().__init__(f"{view} supports consistency {', '.join(supported)}, not {level}")
        self.view, self.level, self.supported = view, level, tuple(supported)


class OrderNotVisible(ReadApiError):
    """No such order in the read model, or not the caller's (both answer 404, so existence does not leak)."""

    def __init__(self, order_id: str) -> None:
        super().__init__(f"no order {order_id}")
        self.order_id = order_id


class StoreUnavailable(ReadApiError):
    """A read store cannot be reached or did not answer in time; the client may retry."""

    def __init__(self, store: str, reason: str) -> None:
        super().__init__(f"{store}: {reason}")
        self.store = store


class PartsMissing(ReadApiError):
    """A composed answer asked complete (`require=all`) lacks parts whose stores cannot answer; the client may retry."""

    def __init__(self, parts: Sequence[str], stores: Sequence[str]) -> None:
        super().__init__(f"missing part(s) {', '.join(parts)}: {', '.join(sorted(set(stores)))} cannot answer")
        self.parts, self.stores = tuple(parts), tuple(stores)
