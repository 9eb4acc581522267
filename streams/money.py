"""Money in the read models: exact decimal text for round trips, integer cents where a store sorts and sums.

FerretDB 1.24 does not implement BSON Decimal128 (the server closes the connection), and a float would not hold
cents exactly, so documents carry `"12.34"` (exact, what the API returns) next to `1234` (sorts, sums, ranges).
"""

from __future__ import annotations

from decimal import Decimal

CENT = Decimal("0.01")


def to_text(amount: Decimal) -> str:
    return str(amount.quantize(CENT))


def to_cents(amount: Decimal) -> int:
    return int(amount.quantize(CENT) * 100)


def from_text(text: str) -> Decimal:
    return Decimal(text).quantize(CENT)
