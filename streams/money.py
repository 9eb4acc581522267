"""Money in the read models: exact decimal text for round trips, integer cents where a store sorts and sums.

FerretDB 1.24 does not implement BSON Decimal128 (the server closes the connection), and a float would not hold
cents exactly, so documents carry `"12.34"` (exact, what the API returns) next to `1234` (sorts, sums, ranges).
"""

from __future__ import annotations

from decimal import Decimal

from schemas.documents import CENT
from schemas.documents import money_text as to_text

__all__ = ["CENT", "from_text", "to_cents", "to_text"]


def to_cents(amount: Decimal) -> int:
    return int(amount.quantize(CENT) * 100)


def from_text(text: str) -> Decimal:
    return Decimal(text).quantize(CENT)
