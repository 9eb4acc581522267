"""What the write model holds for some orders, in the read models' comparable shape (`streams.peek.Shown`)."""

from __future__ import annotations

from decimal import Decimal

import psycopg

from streams.peek import Shown


def snapshot(database_url: str, order_ids: list[str]) -> dict[str, Shown]:
    with psycopg.connect(database_url) as db:
        rows = db.execute(
            "SELECT id::text, version, status, total, items FROM orders WHERE id::text = ANY(%s)", (order_ids,)
        ).fetchall()
    return {
        order_id: Shown(version, status, Decimal(total), tuple(item["sku"] for item in items))
        for order_id, version, status, total, items in rows
    }
