"""The shipping address as both APIs put it on the wire: one list of fields, each API choosing how strict they are.

The writer accepts an address (bounded, strict text; a country code) and the read API answers with the one stored;
each declares its own model from `AddressFields`, so the two OpenAPI documents keep their own schema and rules.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel

TextT = TypeVar("TextT")
CountryT = TypeVar("CountryT")


class AddressFields(BaseModel, Generic[TextT, CountryT]):
    """The fields of a shipping address (`postal_code` is `postalCode` under the APIs' camelCase aliases)."""

    line1: TextT
    line2: TextT | None = None
    city: TextT
    region: TextT | None = None
    postal_code: TextT
    country: CountryT
