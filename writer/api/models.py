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
from writer.domain.values import MAX_ID_LENGTH, MAX_TEXT_LENGTH

_MONEY_PATTERN = r"^[0-9]{1,15}(\.[0-9]{1,2})?$"
_MONEY = re.compile(_MONEY_PATTERN)


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
    WithJsonSchema({"type": "string", "pattern": _MONEY_PATTERN, "examples": ["99.99"]}),
]
Quantity = Annotated[int, Strict(), Field(ge=MIN_QUANTITY, le=MAX_QUANTITY)]
Version = Annotated[int, Strict(), Field(ge=1, description="The order version the client last saw.")]
Identifier = Annotated[str, Strict(), StringConstraints(min_length=1, max_length=MAX_ID_LENGTH)]
Text = Annotated[str, Strict(), StringConstraints(min_length=1, max_length=MAX_TEXT_LENGTH)]
Currency = Annotated[
    str, Strict(), StringConstraints(pattern=r"^[A-Z]{3}$"), Field(description="ISO 4217", examples=["EUR"])
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
    reason: Annotated[str, Strict(), StringConstraints(min_length=1, max_length=500)]
    expected_version: Version | None = None


class OrderTransitionBody(ApiModel):
    """confirm-order and ship-order take only the order and, optionally, the expected version."""

    order_id: UUID
    expected_version: Version | None = None


# REST-style bodies: the order id is in the path.


class AddItemRestBody(NewLine):
    expected_version: Version | None = None


class CancelRestBody(ApiModel):
    reason: Annotated[str, Strict(), StringConstraints(min_length=1, max_length=500)]
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
