"""Why the Order aggregate rejects a command. A rejected command emits nothing and changes nothing."""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from schemas.events import OrderStatus

__all__ = [
    "DomainError",
    "FieldError",
    "InvalidCommand",
    "InvalidTransition",
    "InvalidValue",
    "ItemNotFound",
    "OrderAlreadyExists",
    "OrderNotFound",
    "OrderNotModifiable",
    "TooManyLines",
    "VersionConflict",
]
"""What `writer.domain` exports from this module."""


class InvalidValue(ValueError):
    """One input value is malformed; `FieldErrors` turns it into a `FieldError` at the field's path."""


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one input field; `field` is a camelCase path such as `items[2].unitPrice`."""

    field: str
    message: str

    def nested_in(self, parent: str) -> "FieldError":
        return FieldError(f"{parent}.{self.field}" if self.field else parent, self.message)


class DomainError(Exception):
    """Base of every rejection by the domain."""


class InvalidCommand(DomainError):
    """The command's input is invalid; `errors` lists every bad field, not just the first."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(f"{error.field}: {error.message}" for error in self.errors))


class OrderNotFound(DomainError):
    """A command addressed an order that does not exist."""

    def __init__(self, order_id: str) -> None:
        super().__init__(f"order {order_id} does not exist")
        self.order_id = order_id


class OrderAlreadyExists(DomainError):
    """CreateOrder reused the id of an existing order."""

    def __init__(self, order_id: str) -> None:
        super().__init__(f"order {order_id} already exists")
        self.order_id = order_id


class VersionConflict(DomainError):
    """The client's expected version is not the order's current one (optimistic concurrency)."""

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"expected version {expected}, but the order is at version {actual}")
        self.expected = expected
        self.actual = actual


class InvalidTransition(DomainError):
    """The order's status does not allow moving to `target`."""

    def __init__(self, current: OrderStatus, target: OrderStatus, reason: str | None = None) -> None:
        super().__init__(reason or f"a {current} order cannot become {target}")
        self.current = current
        self.target = target


class OrderNotModifiable(DomainError):
    """Items can only change while the order is pending."""

    def __init__(self, status: OrderStatus) -> None:
        super().__init__(f"the items of a {status} order cannot change")
        self.status = status


class ItemNotFound(DomainError):
    """No line of the order has this item id."""

    def __init__(self, item_id: str) -> None:
        super().__init__(f"the order has no item {item_id}")
        self.item_id = item_id


class TooManyLines(DomainError):
    """The order already holds the maximum number of lines."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"an order holds at most {limit} lines")
        self.limit = limit


class FieldErrors:
    """Collects the field errors of one command so that the client sees all of them at once."""

    def __init__(self) -> None:
        self._errors: list[FieldError] = []

    def add(self, field: str, message: str) -> None:
        self._errors.append(FieldError(field, message))

    @contextmanager
    def at(self, field: str) -> Iterator[None]:
        """Record an `InvalidValue`/`InvalidCommand` raised in the block under `field` and carry on.

        A name assigned in a failed block stays unbound; `raise_if_any()` runs before such a name is read.
        """
        try:
            yield
        except InvalidValue as error:
            self.add(field, str(error))
        except InvalidCommand as error:
            self._errors += [nested.nested_in(field) for nested in error.errors]

    def raise_if_any(self) -> None:
        if self._errors:
            raise InvalidCommand(self._errors)
