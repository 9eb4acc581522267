"""Value types of the Order aggregate: money, currency, text fields, order lines, addresses.

Parsers raise `InvalidValue`; composite values raise `InvalidCommand` with a `FieldError` per bad field.
"""

import re
from dataclasses import dataclass, fields
from decimal import Decimal
from uuid import UUID, uuid5

from schemas.events import LineItem, ShippingAddress
from writer.domain.errors import FieldErrors, InvalidValue

__all__ = [
    "CURRENCIES",
    "MAX_LINES",
    "MAX_QUANTITY",
    "MIN_QUANTITY",
    "OrderLine",
    "currency_code",
    "line_item_id",
    "money",
]
"""What `writer.domain` exports from this module."""

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# With ≤ 100 lines of ≤ 1000 units, a total stays below 10^14: inside the Avro decimal(18, 2) of the events.
MAX_UNIT_PRICE = Decimal("999999999.99")
MIN_QUANTITY = 1
MAX_QUANTITY = 1000
MAX_LINES = 100
MAX_TEXT_LENGTH = 200
MAX_ID_LENGTH = 128

# ISO 4217 codes with exactly two minor units: money here always has two decimals, so JPY (0) or KWD (3) are
# left out rather than silently mis-scaled.
CURRENCIES = frozenset(
    {
        "AUD", "BRL", "CAD", "CHF", "CNY", "CZK", "DKK", "EUR", "GBP", "HKD", "ILS", "INR", "MXN",
        "NOK", "NZD", "PLN", "SEK", "SGD", "USD", "ZAR",
    }
)  # fmt: skip

_MONEY_TEXT = re.compile(r"[+-]?\d+(\.\d+)?")
_COUNTRY = re.compile(r"[A-Z]{2}")
# Fixed namespace for item ids: uuid5(namespace, "<order id>/<version>/<index>") is unique within an order.
_ITEM_ID_NAMESPACE = UUID("6f1f4f0e-3b7c-5d2a-9a51-0c2f1e8b7d43")


def money(value: object, *, maximum: Decimal = MAX_UNIT_PRICE) -> Decimal:
    """A non-negative amount with at most two decimals, as a `Decimal` quantized to cents.

    Accepts `Decimal`, `int` or a decimal string ("12.34"); rejects floats, which cannot hold cents exactly.
    """
    if isinstance(value, str):
        if not _MONEY_TEXT.fullmatch(value):
            raise InvalidValue('must be a decimal number such as "12.34"')
        value = Decimal(value)
    elif isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise InvalidValue(f"must be a decimal amount, not {type(value).__name__}")
    amount = Decimal(value)
    if not amount.is_finite():
        raise InvalidValue("must be a finite amount")
    if amount < 0:
        raise InvalidValue("must not be negative")
    if amount > maximum:
        raise InvalidValue(f"must be at most {maximum}")
    cents = amount.quantize(CENT)
    if cents != amount:
        raise InvalidValue("must have at most 2 decimal places")
    return abs(cents)  # abs() turns -0.00 into 0.00


def currency_code(value: object) -> str:
    """An ISO 4217 code from `CURRENCIES`, e.g. `EUR`."""
    if not isinstance(value, str) or not re.fullmatch(r"[A-Z]{3}", value):
        raise InvalidValue("must be a 3-letter upper-case ISO 4217 code")
    if value not in CURRENCIES:
        raise InvalidValue(f"{value} is not a supported currency")
    return value


def text(value: object, *, max_length: int = MAX_TEXT_LENGTH) -> str:
    """A non-blank string of at most `max_length` characters and no NUL (Postgres cannot store it), kept as given."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue("must not be blank")
    if "\x00" in value:
        raise InvalidValue("must not contain NUL characters")
    if len(value) > max_length:
        raise InvalidValue(f"must be at most {max_length} characters")
    return value


def quantity(value: object) -> int:
    """A whole number of units in MIN_QUANTITY..MAX_QUANTITY."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValue("must be a whole number")
    if not MIN_QUANTITY <= value <= MAX_QUANTITY:
        raise InvalidValue(f"must be between {MIN_QUANTITY} and {MAX_QUANTITY}")
    return value


def line_item_id(order_id: str, version: int, index: int) -> str:
    """Id of the `index`-th line added by the command that brings the order to `version`.

    Derived, not random, so the domain stays pure and a replayed command yields the same ids.
    """
    return str(uuid5(_ITEM_ID_NAMESPACE, f"{order_id}/{version}/{index}"))


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderLine:
    """A validated order line; `unit_price` is normalised to cents on construction."""

    item_id: str
    sku: str
    name: str
    quantity: int
    unit_price: Decimal

    def __post_init__(self) -> None:
        errors = FieldErrors()
        with errors.at("itemId"):
            text(self.item_id, max_length=MAX_ID_LENGTH)
        with errors.at("sku"):
            text(self.sku, max_length=MAX_ID_LENGTH)
        with errors.at("name"):
            text(self.name)
        with errors.at("quantity"):
            quantity(self.quantity)
        with errors.at("unitPrice"):
            object.__setattr__(self, "unit_price", money(self.unit_price))
        errors.raise_if_any()

    @property
    def line_total(self) -> Decimal:
        return self.quantity * self.unit_price

    # An order line and the event's line have the same fields by design: a field added to one fails here, loudly.
    # A shallow copy of the (immutable) field values: `asdict` deep-copies each one, a measurable share of a command.
    def to_item(self) -> LineItem:
        return LineItem(**{name: getattr(self, name) for name in _LINE_FIELDS})

    @classmethod
    def from_item(cls, item: LineItem) -> "OrderLine":
        return cls(**{name: getattr(item, name) for name in _ITEM_FIELDS})


_LINE_FIELDS = tuple(field.name for field in fields(OrderLine))
_ITEM_FIELDS = tuple(field.name for field in fields(LineItem))


def shipping_address(address: ShippingAddress) -> ShippingAddress:
    """The address if every field is valid, else `InvalidCommand` naming each bad field."""
    errors = FieldErrors()
    for field, value in (
        ("line1", address.line1),
        ("city", address.city),
        ("postalCode", address.postal_code),
    ):
        with errors.at(field):
            text(value)
    for field, optional in (("line2", address.line2), ("region", address.region)):
        if optional is not None:
            with errors.at(field):
                text(optional)
    if not isinstance(address.country, str) or not _COUNTRY.fullmatch(address.country):
        errors.add("country", "must be an ISO 3166-1 alpha-2 code such as DE")
    errors.raise_if_any()
    return address


def sum_of_lines(lines: tuple[OrderLine, ...]) -> Decimal:
    """Σ quantity * unit price, exact; 0.00 for no lines."""
    return sum((line.line_total for line in lines), start=ZERO)
