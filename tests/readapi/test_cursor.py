"""Keyset cursors (`readapi.queries.Cursor`): opaque to clients, bound to their sort, checked before any store."""

from __future__ import annotations

import base64
import json

import pytest

from readapi.errors import InvalidQuery
from readapi.queries import Cursor, Direction, Sort, SortField

SUMMARY = {"orderId": "order-9", "total": "12.30", "createdAt": "2025-03-01T10:00:00.000Z", "status": "pending"}


@pytest.mark.parametrize(
    ("field", "value"),
    [(SortField.TOTAL, 1230), (SortField.CREATED_AT, "2025-03-01T10:00:00.000Z"), (SortField.STATUS, "pending")],
)
def test_a_cursor_round_trips_with_the_sort_value_of_the_last_order(field: SortField, value: str | int) -> None:
    sort = Sort(field, Direction.DESC)
    cursor = Cursor.after(SUMMARY, sort)
    assert (cursor.value, cursor.order_id) == (value, "order-9")
    assert Cursor.decode(cursor.encode(), sort) == cursor


def test_a_cursor_for_another_sort_is_refused() -> None:
    made = Cursor.after(SUMMARY, Sort(SortField.TOTAL, Direction.DESC)).encode()
    with pytest.raises(InvalidQuery):
        Cursor.decode(made, Sort(SortField.TOTAL, Direction.ASC))


def _forged(*parts: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


TOTAL = Sort(SortField.TOTAL, Direction.DESC)
CREATED = Sort(SortField.CREATED_AT, Direction.DESC)


@pytest.mark.parametrize(
    ("sort", "text"),
    [
        (TOTAL, ""),
        (TOTAL, "!!!"),
        (TOTAL, "bm9wZQ"),  # "nope"
        (TOTAL, _forged("total:desc", "12.30", "order-1")),  # money is in cents
        (TOTAL, _forged("total:desc", True, "order-1")),
        (TOTAL, _forged("total:desc", 2**70, "order-1")),
        (TOTAL, _forged("total:desc", 1, 7)),
        (TOTAL, _forged("total:desc", 1)),
        (CREATED, _forged("createdAt:desc", "2025-13-01T10:00:00.000Z", "order-1")),
        (CREATED, _forged("createdAt:desc", "yesterday", "order-1")),
        (CREATED, _forged("createdAt:desc", 5, "order-1")),
    ],
)
def test_anything_but_a_cursor_this_api_made_is_bad_input(sort: Sort, text: str) -> None:
    with pytest.raises(InvalidQuery):
        Cursor.decode(text, sort)
