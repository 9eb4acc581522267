"""Events leave through the outbox: the table stays empty, the WAL carries the row, the payload is the envelope."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

import httpx
import psycopg

from schemas.envelope_codec import decode_envelope
from schemas.events import LineItem, OrderCancelled, OrderCreated, OrderItemAdded, OrderStatus
from tests.writer.helpers import create_order, line, new_order
from tests.writer.wal import RowChange, bytea_from_text, consume_changes, logical_slot

Auth = Callable[..., dict[str, str]]


def outbox_inserts(changes: list[RowChange]) -> list[RowChange]:
    return [change for change in changes if change.table == "outbox" and change.kind == "insert"]


async def test_outbox_table_stays_empty_while_the_wal_carries_the_event(
    client: httpx.AsyncClient, db: psycopg.AsyncConnection, auth: Auth
) -> None:
    async with logical_slot(db, f"writer_test_{os.getpid()}") as slot:
        response = await client.post(
            "/commands/create-order",
            json=new_order(items=[line("A", 2, "10.00"), line("B", 1, "0.50")]),
            headers={**auth(), "X-Correlation-ID": "corr-outbox-1"},
        )
        assert response.status_code == 202
        accepted = response.json()
        changes = await consume_changes(db, slot)

    cursor = await db.execute("SELECT count(*) FROM outbox")
    assert await cursor.fetchone() == (0,)
    assert {change.table for change in changes} == {"outbox"}, "the publication streams the outbox only"
    (insert,) = outbox_inserts(changes)
    (delete,) = [change for change in changes if change.kind == "delete"]
    assert delete.columns["id"] == insert.columns["id"]  # the key only: the other columns come as nulls

    row = insert.columns
    assert row["aggregatetype"] == "Order"
    assert row["aggregateid"] == accepted["aggregateId"]
    assert row["type"] == "OrderCreated"
    assert row["version"] == "1"
    assert row["sequence"] == "0"
    assert row["correlationid"] == "corr-outbox-1"
    assert row["causationid"] == accepted["commandId"]

    envelope = decode_envelope(bytea_from_text(row["payload"]))
    assert str(envelope.event_id) == row["id"]
    assert envelope.event_type == "OrderCreated"
    assert envelope.aggregate_type == "Order"
    assert envelope.aggregate_id == accepted["aggregateId"]
    assert envelope.version == 1
    assert envelope.sequence == 0
    assert envelope.correlation_id == "corr-outbox-1"
    assert envelope.causation_id == accepted["commandId"]
    assert envelope.timestamp == datetime.fromisoformat(accepted["timestamp"])
    assert isinstance(envelope.data, OrderCreated)
    assert envelope.data == OrderCreated(
        customer_id="customer-1",
        currency="EUR",
        items=tuple(
            LineItem(item_id=item.item_id, sku=sku, name="Widget", quantity=quantity, unit_price=Decimal(price))
            for item, (sku, quantity, price) in zip(
                envelope.data.items, [("A", 2, "10.00"), ("B", 1, "0.50")], strict=True
            )
        ),
        total=Decimal("20.50"),
        status=OrderStatus.PENDING,
        shipping_address=None,
    )


async def test_every_command_emits_its_event_with_the_order_version(
    client: httpx.AsyncClient, db: psycopg.AsyncConnection, auth: Auth
) -> None:
    order_id = (await create_order(client, auth()))["aggregateId"]
    async with logical_slot(db, f"writer_test_{os.getpid()}") as slot:
        added = await client.post(f"/orders/{order_id}/items", json=line("C", 1, "5.00"), headers=auth())
        cancelled = await client.post(
            f"/orders/{order_id}/cancel",
            json={"reason": "duplicate"},
            headers={**auth(), "X-Correlation-ID": "corr-cancel"},
        )
        inserts = outbox_inserts(await consume_changes(db, slot))

    first, second = (decode_envelope(bytea_from_text(change.columns["payload"])) for change in inserts)
    assert isinstance(first.data, OrderItemAdded)
    assert (first.version, first.causation_id) == (2, added.json()["commandId"])
    assert first.data.total == Decimal("44.98")
    assert isinstance(second.data, OrderCancelled)
    assert (second.version, second.causation_id, second.correlation_id) == (
        3,
        cancelled.json()["commandId"],
        "corr-cancel",
    )
    assert second.data.previous_status is OrderStatus.PENDING
    assert second.data.reason == "duplicate"


async def test_a_rejected_command_puts_nothing_in_the_wal(
    client: httpx.AsyncClient, db: psycopg.AsyncConnection, auth: Auth
) -> None:
    order_id = (await create_order(client, auth()))["aggregateId"]
    async with logical_slot(db, f"writer_test_{os.getpid()}") as slot:
        response = await client.post(f"/orders/{order_id}/ship", headers=auth())
        assert response.status_code == 409
        assert await consume_changes(db, slot) == []
