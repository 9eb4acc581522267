"""Pieces of an order that every document shape shares: addresses as plain mappings and back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.events import ShippingAddress

_ADDRESS_FIELDS = (
    ("line1", "line1"),
    ("line2", "line2"),
    ("city", "city"),
    ("region", "region"),
    ("postal_code", "postalCode"),
    ("country", "country"),
)


def address_document(address: ShippingAddress | None) -> dict[str, Any] | None:
    if address is None:
        return None
    return {wire: getattr(address, name) for name, wire in _ADDRESS_FIELDS}


def address_from(document: Mapping[str, Any] | None) -> ShippingAddress | None:
    if document is None:
        return None
    return ShippingAddress(
        line1=document["line1"],
        line2=document.get("line2"),
        city=document["city"],
        region=document.get("region"),
        postal_code=document["postalCode"],
        country=document["country"],
    )
