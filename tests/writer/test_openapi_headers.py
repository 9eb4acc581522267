"""What the writer parses is documented as it parses it: a client generated from the document sends only values the
writer takes (schemathesis sent `If-Match: ""`, a price of 1,000,000,000.00, a quantity of 2.0 and a name with a NUL,
all valid by the old document and refused)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from servicekit.errors import InvalidRequest
from writer.api import idempotency
from writer.api.app import create_app
from writer.api.models import MONEY_PATTERN, TEXT_PATTERN, NewLine
from writer.api.submit import IF_MATCH_PATTERN, _version_from_if_match
from writer.domain.errors import InvalidValue
from writer.domain.values import money, text
from writer.memory import InMemoryCommandStore
from writer.settings import WriterSettings


def _header_schemas() -> dict[str, list[dict[str, Any]]]:
    """Each header parameter's schemas, one per command operation."""
    app = create_app(
        WriterSettings(database_url="postgresql://unused@127.0.0.1:1/unused"), store=InMemoryCommandStore()
    )
    found: dict[str, list[dict[str, Any]]] = {}
    for operations in app.openapi()["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "header":
                    found.setdefault(parameter["name"], []).append(parameter["schema"])
    return found


@pytest.mark.parametrize(
    ("header", "pattern"), [("If-Match", IF_MATCH_PATTERN), (idempotency.HEADER, idempotency.KEY_PATTERN)]
)
def test_every_command_documents_the_header_with_the_pattern_it_is_parsed_by(header: str, pattern: str) -> None:
    schemas = _header_schemas()[header]
    assert len(schemas) >= 12  # both route styles, every command
    for schema in schemas:
        # Optional, never null: a generated client (or schemathesis) would otherwise send `If-Match: null`.
        assert (schema["type"], schema["pattern"]) == ("string", pattern)


@given(st.one_of(st.from_regex(IF_MATCH_PATTERN), st.text(alphabet='"*0123456789 W/', max_size=22)))
def test_if_match_is_accepted_exactly_when_it_matches_the_documented_pattern(value: str) -> None:
    try:
        version = _version_from_if_match(value)
        accepted = True
    except InvalidRequest:
        accepted, version = False, None
    assert accepted == bool(re.fullmatch(IF_MATCH_PATTERN, value))
    assert version == (None if value == "*" or not accepted else int(value.strip('"')))


@given(st.one_of(st.from_regex(idempotency.KEY_PATTERN), st.text(max_size=260)))
def test_an_idempotency_key_is_accepted_exactly_when_it_matches_the_documented_pattern(value: str) -> None:
    try:
        accepted = idempotency.parse_key(value) == value
    except InvalidRequest:
        accepted = False
    assert accepted == bool(re.fullmatch(idempotency.KEY_PATTERN, value))


@given(st.one_of(st.from_regex(MONEY_PATTERN), st.from_regex(r"^[0-9]{1,16}(\.[0-9]{1,3})?$"), st.text(max_size=20)))
def test_a_price_is_accepted_exactly_when_it_matches_the_documented_pattern(text: str) -> None:
    # The API checks the shape, the domain the bound (1,000,000,000.00 was valid by the old document): together
    # they take exactly what the document's pattern says.
    try:
        NewLine.model_validate({"sku": "s", "name": "n", "quantity": 1, "unitPrice": text})
        money(text)
        accepted = True
    except (ValidationError, InvalidValue):
        accepted = False
    assert accepted == bool(re.fullmatch(MONEY_PATTERN, text))


@pytest.mark.parametrize("quantity", [2, 2.0])
def test_a_whole_number_is_an_integer_however_json_writes_it(quantity: float) -> None:
    # JSON Schema's `integer` takes 2.0 (schemathesis sent it as a valid quantity); a fraction is still refused.
    assert NewLine.model_validate({"sku": "s", "name": "n", "quantity": quantity, "unitPrice": "1"}).quantity == 2
    with pytest.raises(ValidationError):
        NewLine.model_validate({"sku": "s", "name": "n", "quantity": 2.5, "unitPrice": "1"})


@given(st.one_of(st.from_regex(TEXT_PATTERN), st.text(alphabet=" \t\x00\x1c\u00a0\u3000\ufeffab", max_size=6)))
def test_a_text_field_is_accepted_exactly_when_it_matches_the_documented_pattern(value: str) -> None:
    # schemathesis sent an item name with a NUL, valid by the old document, refused by the domain.
    try:
        text(value)
        accepted = True
    except InvalidValue:
        accepted = False
    assert accepted == bool(re.fullmatch(TEXT_PATTERN, value))
