"""Single-object encoding of the event envelope: round trips, exact money, and typed failures on bad bytes."""

import json
import re
from contextlib import suppress
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from importlib.resources import files
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.catalog import SchemaCatalog, default_catalog, load_schema_version
from schemas.codec import HEADER_SIZE, MARKER, SingleObjectCodec
from schemas.envelope import ENVELOPE_RECORD, ENVELOPE_SCHEMA_VERSION, EventEnvelope
from schemas.envelope_codec import decode_envelope, encode_envelope, envelope_codec
from schemas.errors import CorruptEvent, EncodingFailed, SchemaError, UnknownSchema
from schemas.events import (
    ORDER_EVENT_TYPES,
    LineItem,
    OrderCancelled,
    OrderConfirmed,
    OrderCreated,
    OrderEvent,
    OrderItemAdded,
    OrderItemRemoved,
    OrderShipped,
    OrderStatus,
    ShippingAddress,
)
from schemas.mapping import envelope_to_avro

AT = datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)
ITEM = LineItem(item_id="i-1", sku="SKU-1", name="Kettle", quantity=3, unit_price=Decimal("19.99"))
ADDRESS = ShippingAddress(line1="Hauptstr. 1", city="Berlin", postal_code="10115", country="DE", region="BE")
TOTALS: dict[str, Any] = {"total": Decimal("59.97"), "currency": "EUR"}
EVENTS: list[OrderEvent] = [
    OrderCreated(
        customer_id="c-1",
        currency="EUR",
        items=(ITEM, replace(ITEM, item_id="i-2", quantity=1, unit_price=Decimal("0.00"))),
        total=Decimal("59.97"),
        status=OrderStatus.PENDING,
        shipping_address=ADDRESS,
    ),
    OrderCreated(customer_id="c-1", currency="USD", items=(), total=Decimal("0.00"), status=OrderStatus.PENDING),
    OrderItemAdded(item=ITEM, **TOTALS),
    OrderItemRemoved(item_id="i-1", sku="SKU-1", quantity=3, unit_price=Decimal("19.99"), **TOTALS),
    OrderConfirmed(customer_id="c-1", status=OrderStatus.CONFIRMED, **TOTALS),
    OrderShipped(customer_id="c-1", status=OrderStatus.SHIPPED, **TOTALS),
    OrderCancelled(
        customer_id="c-1",
        reason="changed my mind",
        previous_status=OrderStatus.CONFIRMED,
        status=OrderStatus.CANCELLED,
        **TOTALS,
    ),
]


def envelope(data: OrderEvent, **changes: Any) -> EventEnvelope:
    fields: dict[str, Any] = {
        "event_id": UUID("9b2f6a3c-1d4e-4f5a-8b6c-7d8e9f0a1b2c"),
        "aggregate_type": "Order",
        "aggregate_id": "o-1",
        "version": 4,
        "sequence": 0,
        "timestamp": AT,
        "correlation_id": "corr-1",
        "causation_id": "cmd-1",
        "data": data,
    }
    return EventEnvelope(**(fields | changes))


def v1_text() -> str:
    return files("schemas").joinpath("avro/order_event_envelope.v1.avsc").read_text(encoding="utf-8")


def test_examples_cover_every_event_type() -> None:
    assert {type(event) for event in EVENTS} == set(ORDER_EVENT_TYPES)


@pytest.mark.parametrize("event", EVENTS, ids=lambda event: type(event).__name__)
def test_every_event_type_round_trips(event: OrderEvent) -> None:
    original = envelope(event, sequence=2)

    decoded = decode_envelope(encode_envelope(original))

    assert decoded == original
    assert decoded.event_type == type(event).__name__
    assert type(decoded.data) is type(event)


def test_payload_is_single_object_encoded_with_the_newest_envelope_fingerprint() -> None:
    payload = encode_envelope(envelope(EVENTS[0]))

    newest = default_catalog().latest(ENVELOPE_RECORD)
    assert payload[:2] == b"\xc3\x01" == MARKER
    assert payload[2:HEADER_SIZE] == newest.fingerprint


def _crc64_avro(data: bytes) -> int:
    """The spec's reference algorithm, written out so the test does not trust fastavro to check fastavro."""
    empty = 0xC15D213AA4D7A795
    table = []
    for byte in range(256):
        fp = byte
        for _ in range(8):
            fp = (fp >> 1) ^ (empty & -(fp & 1))
        table.append(fp)
    fp = empty
    for byte in data:
        fp = (fp >> 8) ^ table[(fp ^ byte) & 0xFF]
    return fp


def test_fingerprint_is_the_spec_crc64_of_the_canonical_form_in_little_endian() -> None:
    assert _crc64_avro(b'"null"') == 7195948357588979594  # test vector from the Avro specification
    newest = default_catalog().latest(ENVELOPE_RECORD)

    expected = _crc64_avro(newest.canonical_form.encode()).to_bytes(8, "little")

    assert newest.fingerprint == expected


def test_money_amounts_keep_every_cent() -> None:
    amounts = [Decimal("0.10") + Decimal("0.20"), Decimal("0.01"), Decimal("9999999999999999.99")]
    for amount in amounts:
        event = OrderItemAdded(item=replace(ITEM, unit_price=amount), total=amount, currency="EUR")

        decoded = decode_envelope(encode_envelope(envelope(event))).data

        assert isinstance(decoded, OrderItemAdded)
        assert decoded.total == amount
        assert decoded.item.unit_price == amount
        assert decoded.total.as_tuple().exponent == -2
        assert str(decoded.total) == f"{amount:.2f}"


@given(st.decimals(min_value=0, max_value=Decimal("9999999999999999.99"), places=2))
def test_any_two_decimal_amount_round_trips_exactly(amount: Decimal) -> None:
    event = OrderConfirmed(customer_id="c", status=OrderStatus.CONFIRMED, total=amount, currency="EUR")

    decoded = decode_envelope(encode_envelope(envelope(event))).data

    assert isinstance(decoded, OrderConfirmed)
    assert decoded.total == amount


def test_amount_beyond_the_decimal_precision_is_not_encoded() -> None:
    too_big = OrderConfirmed(
        customer_id="c", status=OrderStatus.CONFIRMED, total=Decimal("99999999999999999.99"), currency="EUR"
    )

    with pytest.raises(EncodingFailed):
        encode_envelope(envelope(too_big))


def test_timestamp_is_normalised_to_utc_milliseconds() -> None:
    local = datetime(2024, 5, 6, 9, 8, 9, 123456, tzinfo=timezone(timedelta(hours=2)))

    stamped = envelope(EVENTS[4], timestamp=local)

    assert stamped.timestamp == AT
    assert stamped.timestamp.tzinfo == UTC
    assert decode_envelope(encode_envelope(stamped)).timestamp == AT


def test_naive_timestamp_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        envelope(EVENTS[4], timestamp=datetime(2024, 1, 1))


def test_envelope_schema_version_is_the_newest_catalog_version() -> None:
    assert default_catalog().latest(ENVELOPE_RECORD).version == ENVELOPE_SCHEMA_VERSION
    assert envelope(EVENTS[4]).schema_version == ENVELOPE_SCHEMA_VERSION


def test_unknown_fingerprint_is_unknown_schema() -> None:
    payload = bytearray(encode_envelope(envelope(EVENTS[4])))
    payload[2:HEADER_SIZE] = bytes(8)

    with pytest.raises(UnknownSchema) as raised:
        decode_envelope(bytes(payload))

    assert raised.value.fingerprint == bytes(8)


def test_fingerprint_of_another_record_is_unknown_schema() -> None:
    other = json.dumps({"type": "record", "name": "com.example.Other", "fields": [{"name": "x", "type": "int"}]})
    catalog = SchemaCatalog(
        [
            load_schema_version("order_event_envelope.v1.avsc", v1_text()),
            load_schema_version("other.v1.avsc", other),
        ]
    )
    other_payload = SingleObjectCodec(catalog, "com.example.Other").encode({"x": 1})

    with pytest.raises(UnknownSchema, match=re.escape("not com.example.orders.OrderEventEnvelope")):
        SingleObjectCodec(catalog, ENVELOPE_RECORD).decode(other_payload)


@pytest.mark.parametrize("keep", [0, 1, 2, 9, HEADER_SIZE, HEADER_SIZE + 5, -1])
def test_truncated_payload_is_corrupt(keep: int) -> None:
    payload = encode_envelope(envelope(EVENTS[0]))

    with pytest.raises(CorruptEvent):
        decode_envelope(payload[:keep])


def test_bad_marker_is_corrupt() -> None:
    payload = encode_envelope(envelope(EVENTS[4]))

    with pytest.raises(CorruptEvent, match="marker"):
        decode_envelope(b"\xc3\x00" + payload[2:])


def test_trailing_bytes_are_corrupt() -> None:
    payload = encode_envelope(envelope(EVENTS[4]))

    with pytest.raises(CorruptEvent, match="after the end"):
        decode_envelope(payload + b"\x00")


def test_event_type_that_disagrees_with_the_data_is_corrupt() -> None:
    datum = envelope_to_avro(envelope(EVENTS[4])) | {"eventType": "OrderShipped"}

    with pytest.raises(CorruptEvent, match="eventType"):
        decode_envelope(envelope_codec().encode(datum))


HEADER = MARKER + default_catalog().latest(ENVELOPE_RECORD).fingerprint


@given(st.binary(max_size=300))
def test_random_body_after_a_valid_header_fails_only_as_corrupt_event(body: bytes) -> None:
    with suppress(CorruptEvent):  # any other exception fails the test
        decode_envelope(HEADER + body)


@given(st.binary(max_size=64))
def test_random_bytes_fail_only_as_schema_errors(payload: bytes) -> None:
    with suppress(SchemaError):  # any other exception fails the test
        decode_envelope(payload)


@given(st.sampled_from(EVENTS), st.data())
def test_corrupted_bytes_of_a_real_payload_never_escape_as_other_errors(event: OrderEvent, data: st.DataObject) -> None:
    payload = bytearray(encode_envelope(envelope(event)))
    position = data.draw(st.integers(min_value=0, max_value=len(payload) - 1))
    payload[position] = data.draw(st.integers(min_value=0, max_value=255))

    with suppress(SchemaError):  # any other exception fails the test
        decode_envelope(bytes(payload))
