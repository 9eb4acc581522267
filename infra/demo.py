"""`cqrs demo`: the README's first command. Starts the stack, the writer and the projection workers, registers the
Debezium connector, posts a few commands over HTTP and shows them committed in Postgres, relayed, decoded, from
Kafka, and projected into every read model (MongoDB wire, Elasticsearch, ClickHouse) at the write model's version."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import httpx
import psycopg
from rich.console import Console
from rich.table import Table

from infra.settings import Ports, stack_settings
from infra.stack import Stack
from infra.stack_cli import print_status

console = Console()


def run_demo() -> None:
    from connectors.cli import register
    from connectors.tail import EventsTail
    from writer.security import Role
    from writer.settings import WriterSettings
    from writer.tokens import mint_token

    settings = stack_settings()
    stack = Stack(settings, [*Stack(settings).by_name.keys()])
    with console.status("starting the native stack and the writer (the first run downloads and builds)…") as status:
        stack.up(progress=lambda message: status.update(message))
    print_status(stack.status())
    register("orders-outbox", wait=90)

    tail = EventsTail(f"127.0.0.1:{settings.ports.kafka}")
    token = mint_token(WriterSettings(), subject="demo-staff", roles=[Role.STAFF])
    writer_url = f"http://127.0.0.1:{settings.ports.writer}"
    with httpx.Client(base_url=writer_url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        accepted = _post_commands(client)
    _show_accepted(accepted)
    _show_write_model(settings.ports.postgres, {a["aggregateId"] for a in accepted})

    started = time.monotonic()
    events = tail.collect(lambda got: len(got) >= len(accepted), 60)
    _show_events(events, time.monotonic() - started)
    _show_read_models(settings.ports, {a["aggregateId"]: a["version"] for a in accepted})
    console.print(f"writer API docs: {writer_url}/docs   ·   stop everything: uv run cqrs stack down")


def _post_commands(client: httpx.Client) -> list[dict[str, Any]]:
    """A short order story: create, add an item, confirm; a second order created and cancelled."""
    responses = []

    def send(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = client.post(path, json=body, headers={"X-Correlation-ID": "demo"})
        response.raise_for_status()
        accepted: dict[str, Any] = response.json()
        responses.append({"command": path.rsplit("/", 1)[-1], **accepted, "location": response.headers["location"]})
        return accepted

    item = {"sku": "MUG-BLUE", "name": "Blue ceramic mug", "quantity": 2, "unitPrice": "12.50"}
    first = send("/commands/create-order", {"customerId": "alice", "currency": "EUR", "items": [item]})
    extra = {"sku": "TEA-GREEN", "name": "Green tea, 100 g", "quantity": 1, "unitPrice": "7.90"}
    send("/commands/add-item-to-order", {"orderId": first["aggregateId"], "item": extra, "expectedVersion": 1})
    send("/commands/confirm-order", {"orderId": first["aggregateId"], "expectedVersion": 2})
    second = send("/commands/create-order", {"customerId": "bob", "currency": "USD", "items": [item]})
    send("/commands/cancel-order", {"orderId": second["aggregateId"], "reason": "changed my mind"})
    return responses


def _show_accepted(accepted: list[dict[str, Any]]) -> None:
    table = Table(title="commands posted to the writer (202 Accepted)")
    for column in ("command", "order", "version", "Location"):
        table.add_column(column)
    for row in accepted:
        table.add_row(row["command"], row["aggregateId"][:8], str(row["version"]), row["location"])
    console.print(table)


def _show_write_model(port: int, order_ids: set[str]) -> None:
    query = "SELECT id::text, customer_id, status, currency, total, version FROM orders WHERE id::text = ANY(%s)"
    with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=orders") as conn:
        rows = conn.execute(query, (list(order_ids),)).fetchall()
        outbox_rows = conn.execute("SELECT count(*) FROM outbox").fetchone()
    table = Table(
        title=f"write model (PostgreSQL) — outbox table rows at rest: {outbox_rows[0] if outbox_rows else '?'}"
    )
    for column in ("order", "customer", "status", "currency", "total", "version"):
        table.add_column(column)
    for order_id, customer, status, currency, total, version in rows:
        table.add_row(order_id[:8], customer, status, currency, str(total), str(version))
    console.print(table)


def _show_read_models(ports: Ports, versions: dict[str, int]) -> None:
    """Wait until every read model holds each order at its last accepted version, then show them side by side."""
    import asyncio

    from streams.peek import Shown, shown
    from streams.projections import PROJECTIONS
    from streams.settings import StreamsSettings

    streams_settings = StreamsSettings(ports=ports)

    async def views() -> dict[str, dict[str, Shown]]:
        return {name: await shown(streams_settings, name, list(versions)) for name in PROJECTIONS}

    started = time.monotonic()
    seen = asyncio.run(views())
    while time.monotonic() - started < 60 and not all(
        view.get(order) is not None and view[order].version >= version
        for view in seen.values()
        for order, version in versions.items()
    ):
        time.sleep(0.2)
        seen = asyncio.run(views())
    table = Table(title=f"read models ({time.monotonic() - started:.1f} s after the events were read from Kafka)")
    for column in ("order", "projection", "version", "status", "total", "SKUs"):
        table.add_column(column)
    for order in versions:
        for name, view in seen.items():
            row = view.get(order)
            cells = (str(row.version), row.status, str(row.total), ", ".join(row.skus)) if row else ("-",) * 4
            table.add_row(order[:8], name, *cells)
    console.print(table)


def _show_events(events: list[Any], waited_s: float) -> None:
    table = Table(
        title=f"relayed by Debezium to Kafka events.Order ({len(events)} read {waited_s:.1f} s after the last 202)"
    )
    for column in ("partition@offset", "key (order)", "eventType header", "version", "decoded Avro envelope data"):
        table.add_column(column)
    for event in events:
        data = event.envelope.data
        shown = [field.name for field in dataclasses.fields(data) if field.name in ("status", "total", "reason")]
        summary = ", ".join(f"{name}={getattr(data, name)}" for name in shown)
        table.add_row(
            f"{event.partition}@{event.offset}",
            event.key[:8],
            event.headers.get("eventType", ""),
            str(event.envelope.version),
            summary,
        )
    console.print(table)
