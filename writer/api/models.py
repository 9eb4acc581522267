"""Request and response bodies of the command API (camelCase on the wire, unknown fields rejected).

These models check shape and types; the domain checks meaning (supported currency, line limits, …), so each
rule lives once. Bounds shared with the domain come from its constants, so the OpenAPI document shows them.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from servicekit.address import AddressFields
from writer.domain import MAX_LINES, MAX_QUANTITY, MIN_QUANTITY
from writer.domain.values import CURRENCIES, MAX_ID_LENGTH, MAX_TEXT_LENGTH, MAX_UNIT_PRICE

_MONEY = re.compile(r"^[0-9]{1,15}(\.[0-9]{1,2})?$")
"""The shape checked here; the domain checks the amount (at most MAX_UNIT_PRICE) and names the bound."""
# MAX_UNIT_PRICE is 10**n - 0.01, so shape and bound together are a digit count a pattern can state, as the document
# does: at most n significant digits before the point (zeros may pad the 15 digits), at most two after.
_INTEGER_DIGITS = len(str(int(MAX_UNIT_PRICE)))
MONEY_PATTERN = rf"^0{{0,{15 - _INTEGER_DIGITS}}}[0-9]{{1,{_INTEGER_DIGITS}}}(\.[0-9]{{1,2}})?$"


def _money_text(value: Any) -> Any:
    # A JSON number becomes a binary float before any validator sees it: "99.99" may already be 99.98999…
    # so money must arrive as a string, and a number is refused instead of being rounded.
    if not isinstance(value, str):
        raise PydanticCustomError("money_type", 'money must be a JSON string such as "99.99", not a number')
    if not _MONEY.fullmatch(value):
        raise PydanticCustomError("money_format", 'money must look like "99.99": digits, at most 2 decimals')
    return value


Money = Annotated[
    str,
    BeforeValidator(_money_text),
    WithJsonSchema({"type": "string", "pattern": MONEY_PATTERN, "examples": ["99.99"]}),
]


def _whole_number(value: Any) -> Any:
    # JSON Schema's `integer` takes 2.0 as well as 2, and so must we; a fraction, a string or a bool stays an error.
    return int(value) if isinstance(value, float) and value.is_integer() else value


Quantity = Annotated[int, Strict(), Field(ge=MIN_QUANTITY, le=MAX_QUANTITY), BeforeValidator(_whole_number)]
Version = Annotated[
    int, Strict(), Field(ge=1, description="The order version the client last saw."), BeforeValidator(_whole_number)
]
# The domain's `text()` refuses a blank string (`str.strip()` leaves nothing) and NUL: the document says the same,
# with Python's own whitespace spelled out (JSON Schema's `\s` is another set).
_BLANK = "".join(f"\\u{ord(c):04x}" for c in map(chr, range(0x10000)) if c.isspace())
TEXT_PATTERN = f"^[^\\u0000]*[^\\u0000{_BLANK}][^\\u0000]*$"
NonBlank = Field(json_schema_extra={"pattern": TEXT_PATTERN})
Identifier = Annotated[str, Strict(), StringConstraints(min_length=1, max_length=MAX_ID_LENGTH), NonBlank]
Text = Annotated[str, Strict(), StringConstraints(min_length=1, max_length=MAX_TEXT_LENGTH), NonBlank]
Reason = Annotated[str, Strict(), StringConstraints(min_length=1, max_length=500), NonBlank]
# The domain says which currencies it supports (and names a wrong one); the document lists the same set.
Currency = Annotated[
    str,
    Strict(),
    StringConstraints(pattern=r"^[A-Z]{3}$"),
    WithJsonSchema({"type": "string", "enum": sorted(CURRENCIES), "description": "ISO 4217", "examples": ["EUR"]}),
]
Country = Annotated[str, Strict(), StringConstraints(pattern=r"^[A-Z]{2}$"), Field(description="ISO 3166-1 alpha-2")]


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, frozen=True)


class NewLine(ApiModel):
    sku: Identifier
    name: Text
    quantity: Quantity
    unit_price: Money


class ShippingAddressBody(ApiModel, AddressFields[Text, Country]):
    pass


class CreateOrderBody(ApiModel):
    """Place a new pending order; the server assigns its id (returned as `aggregateId`)."""

    customer_id: Identifier
    currency: Currency
    items: Annotated[list[NewLine], Field(min_length=1, max_length=MAX_LINES)]
    shipping_address: ShippingAddressBody | None = None


class AddItemBody(ApiModel):
    order_id: UUID
    item: NewLine
    expected_version: Version | None = None


class RemoveItemBody(ApiModel):
    order_id: UUID
    item_id: Identifier
    expected_version: Version | None = None


class CancelOrderBody(ApiModel):
    order_id: UUID
    reason: Reason
    expected_version: Version | None = None


class OrderTransitionBody(ApiModel):
    """confirm-order and ship-order take only the order and, optionally, the expected version."""

    order_id: UUID
    expected_version: Version | None = None


# REST-style bodies: the order id is in the path.


class AddItemRestBody(NewLine):
    expected_version: Version | None = None


class CancelRestBody(ApiModel):
    reason: Reason
    expected_version: Version | None = None


class ExpectedVersionBody(ApiModel):
    expected_version: Version | None = None


# Responses.


class CommandAccepted(ApiModel):
    command_id: UUID
    status: Literal["accepted"]
    aggregate_id: str
    version: int
    timestamp: datetime


class StoredEvent(ApiModel):
    event_id: UUID
    event_type: str
    sequence: int


class CommandOutcome(ApiModel):
    command_id: UUID
    command: str
    status: Literal["accepted"]
    aggregate_id: str
    version: int
    timestamp: datetime
    correlation_id: str
    events: list[StoredEvent]
