"""The API's order shapes, built from any store's document (field names are the projections' own: camelCase)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from readapi.ports import Document

SUMMARY_FIELDS = ("orderId", "customerId", "status", "currency", "total", "itemCount", "version")
LINE_FIELDS = ("itemId", "sku", "name", "quantity", "unitPrice")


def timestamp(value: datetime | str) -> str:
    """One text form for every store's dates: UTC, milliseconds (BSON's precision), `Z`."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def order_summary(doc: dict[str, Any]) -> Document:
    summary = {name: doc[name] for name in SUMMARY_FIELDS}
    summary["createdAt"] = timestamp(doc["createdAt"])
    summary["updatedAt"] = timestamp(doc["updatedAt"])
    return summary


def order_detail(doc: dict[str, Any]) -> Document:
    detail = order_summary(doc)
    detail["items"] = [order_line(line) for line in doc["items"]]
    if doc.get("shippingAddress"):
        detail["shippingAddress"] = {k: v for k, v in doc["shippingAddress"].items() if v is not None}
    if doc.get("cancelReason"):
        detail["cancelReason"] = doc["cancelReason"]
    return detail


def order_line(line: dict[str, Any]) -> Document:
    shown = {name: line[name] for name in LINE_FIELDS}
    if "lineTotal" in line:
        shown["lineTotal"] = line["lineTotal"]
    return shown
