"""The query parameters the read API checks are documented as it checks them: a client generated from the document
sends only values the API takes (schemathesis found `filters=000…` and `consistency=strong` on lists valid by the
old document, and refused by the API)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from readapi.api.app import create_app
from readapi.api.routes_analytics import Day
from readapi.errors import InvalidQuery
from readapi.queries import FILTERS_PATTERN, MAX_FILTERS_LENGTH, SORT_PATTERN, SearchFilters, Sort
from readapi.settings import ReadApiSettings


def _schema(path: str, name: str) -> dict[str, Any]:
    document = create_app(ReadApiSettings()).openapi()
    (parameter,) = [p for p in document["paths"][path]["get"]["parameters"] if p["name"] == name]
    schema: dict[str, Any] = parameter["schema"]
    return schema


@pytest.mark.parametrize(
    ("path", "levels"),
    [
        ("/orders", ["eventual"]),
        ("/orders/search", ["eventual"]),
        ("/orders/{orderId}", ["eventual", "strong"]),
        ("/orders/{orderId}/items", ["eventual"]),
    ],
)
def test_each_view_offers_only_the_consistency_levels_it_answers_at(path: str, levels: list[str]) -> None:
    assert _schema(path, "consistency")["enum"] == levels


def test_filters_are_documented_with_the_grammar_they_are_parsed_by() -> None:
    (text,) = [s for s in _schema("/orders/search", "filters")["anyOf"] if s["type"] == "string"]
    assert (text["pattern"], text["maxLength"]) == (FILTERS_PATTERN, MAX_FILTERS_LENGTH)


def test_sort_is_documented_with_the_grammar_it_is_parsed_by() -> None:
    assert _schema("/orders", "sort")["pattern"] == SORT_PATTERN


@given(
    st.one_of(
        st.from_regex(SORT_PATTERN),
        st.lists(st.sampled_from(["createdAt", "total", ":", "asc", "up", ""]), max_size=5).map("".join),
    )
)
def test_a_sort_is_accepted_exactly_when_it_matches_the_documented_pattern(text: str) -> None:
    try:
        Sort.parse(text)
        accepted = True
    except InvalidQuery:
        accepted = False
    assert accepted == bool(re.fullmatch(SORT_PATTERN, text))


_NEAR_MISSES = st.lists(
    st.sampled_from(
        ["status", "currency", "customerId", "colour", ":", ",", "pending", "shipped", "lost", "EUR", "eur", "c-1", ""]
    ),
    max_size=8,
).map("".join)


@given(st.one_of(st.from_regex(FILTERS_PATTERN), _NEAR_MISSES, st.text(max_size=30)))
def test_filters_are_accepted_exactly_when_they_match_the_documented_pattern(text: str) -> None:
    try:
        SearchFilters.parse(text)
        accepted = True
    except InvalidQuery:
        accepted = False
    assert accepted == bool(re.fullmatch(FILTERS_PATTERN, text))


@pytest.mark.parametrize("text", ["0", "20240531", "1717113600", "2024-05-31T00:00:00", "2024-5-31"])
def test_a_day_not_written_as_the_document_says_is_refused(text: str) -> None:
    # pydantic alone reads "0" as 1970-01-01 (a timestamp): schemathesis saw `to=0` answered 200.
    with pytest.raises(ValidationError):
        TypeAdapter(Day).validate_python(text)


def test_a_day_written_as_the_document_says_is_taken() -> None:
    assert TypeAdapter(Day).validate_python("2024-05-31") == date(2024, 5, 31)
