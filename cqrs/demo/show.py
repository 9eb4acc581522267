"""The demo's tables: each shows one step of the story as it arrived somewhere real."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import psycopg
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from streams.peek import Shown
from streams.webhooks.receiver import Effect

console = Console()


def imported(path: str, applied: int, replayed: int, rejected: int) -> None:
    note = (
        f"; {replayed} already applied by an earlier run (same idempotency keys: nothing changed)" if replayed else ""
    )
    console.print(f"imported {path}: {applied} orders applied now{note}, {rejected} rejected")


def accepted(rows: list[dict[str, Any]]) -> None:
    table = Table(title="commands posted to the writer (202 Accepted)")
    for column in ("command", "order", "version", "Location"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["command"], row["aggregateId"][:8], str(row["version"]), row["location"])
    console.print(table)


def write_model(port: int, order_ids: set[str]) -> None:
    query = "SELECT id::text, customer_id, status, currency, total, version FROM orders WHERE id::text = ANY(%s)"
    with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=orders") as conn:
        rows = conn.execute(query, (list(order_ids),)).fetchall()
        outbox_rows = conn.execute("SELECT count(*) FROM outbox").fetchone()
    at_rest = outbox_rows[0] if outbox_rows else "?"
    table = Table(title=f"write model (PostgreSQL) — outbox table rows at rest: {at_rest}")
    for column in ("order", "customer", "status", "currency", "total", "version"):
        table.add_column(column)
    for order_id, customer, status, currency, total, version in rows:
        table.add_row(order_id[:8], customer, status, currency, str(total), str(version))
    console.print(table)


def events(relayed: list[Any], waited_s: float) -> None:
    table = Table(
        title=f"relayed by Debezium to Kafka events.Order ({len(relayed)} read {waited_s:.1f} s after the last 202)"
    )
    for column in ("partition@offset", "key (order)", "eventType header", "version", "decoded Avro envelope data"):
        table.add_column(column)
    for event in relayed:
        data = event.envelope.data
        names = [field.name for field in dataclasses.fields(data) if field.name in ("status", "total", "reason")]
        summary = ", ".join(f"{name}={getattr(data, name)}" for name in names)
        table.add_row(
            f"{event.partition}@{event.offset}",
            event.key[:8],
            event.headers.get("eventType", ""),
            str(event.envelope.version),
            summary,
        )
    console.print(table)


def read_models(views: dict[str, dict[str, Shown]], written: dict[str, Shown], visible_after: dict[str, float]) -> None:
    """Each order in the write model and in every read model, with how long after the last 202 it showed there."""
    table = Table(title="one order, every model: write model (PostgreSQL) and read models")
    for column in ("order", "model", "version", "status", "total", "SKUs", "visible after"):
        table.add_column(column)
    for order, truth in written.items():
        rows: list[tuple[str, Shown | None, str]] = [("write model", truth, "committed")]
        rows += [(name, view.get(order), _seconds(visible_after.get(name))) for name, view in views.items()]
        for model, shown, when in rows:
            cells = (str(shown.version), shown.status, str(shown.total), ", ".join(shown.skus)) if shown else ("-",) * 4
            table.add_row(order[:8], model, *cells, when)
    console.print(table)


def read_api_detail(answer: dict[str, Any], location: str) -> None:
    meta = answer["meta"]
    order = answer["data"]
    console.print(
        f"read API GET {location} → version {order['version']}, status {order['status']}, total {order['total']} "
        f"(meta: lastUpdated {meta['lastUpdated']}, cached {meta['cached']}, stale {meta['stale']})",
        highlight=False,
    )


def search(query: str, answer: dict[str, Any]) -> None:
    table = Table(title=f"read API search q={query!r}: {answer['pagination']['total']} orders (Elasticsearch)")
    for column in ("order", "customer", "status", "total", "score", "highlight"):
        table.add_column(column)
    for hit in answer["data"]:
        fragments = [fragment for values in hit["highlights"].values() for fragment in values]
        highlight = escape(fragments[0]) if fragments else ""
        score = f"{hit['score']:.2f}" if hit["score"] is not None else "-"
        table.add_row(hit["orderId"][:8], hit["customerId"], hit["status"], hit["total"], score, highlight)
    console.print(table)


def listing(customer: str, answer: dict[str, Any]) -> None:
    pagination = answer["pagination"]
    table = Table(
        title=f"read API list customerId={customer} sort=createdAt:desc: {pagination['total']} orders (PostgreSQL)",
        caption="next page: `cursor` " + ("(none: last page)" if pagination.get("cursor") is None else "given"),
    )
    for column in ("order", "status", "total", "items", "version", "created"):
        table.add_column(column)
    for order in answer["data"]:
        table.add_row(
            order["orderId"][:8], order["status"], order["total"], str(order["itemCount"]), str(order["version"]),
            order["createdAt"],
        )  # fmt: skip
    console.print(table)


def revenue(answer: dict[str, Any]) -> None:
    table = Table(title="read API daily revenue (ClickHouse)", caption="orders not cancelled")
    for column in ("day", "currency", "orders", "revenue"):
        table.add_column(column)
    for row in answer["data"]:
        table.add_row(str(row["day"]), row["currency"], str(row["orders"]), row["revenue"])
    console.print(table)


def webhooks(effects: list[Effect], attempts: int, rejected: int) -> None:
    table = Table(
        title=f"webhooks: {len(effects)} delivered, {attempts} attempts, {rejected} bad signatures",
        caption="the demo receiver verifies every signature and refuses each first attempt, so each was retried",
    )
    for column in ("webhook-id", "eventType", "order", "version"):
        table.add_column(column)
    for effect in effects:
        event = effect.event
        table.add_row(effect.webhook_id[:8], event["eventType"], event["aggregateId"][:8], str(event["version"]))
    console.print(table)


def trace(answer: dict[str, Any]) -> None:
    """One command's trace (`GET /commands/{commandId}?wait=applied`): where its events got to."""
    traced = answer["trace"]
    relay = traced["relay"]
    offsets = ",".join(str(offset) for offset in relay["offsets"]) if relay else ""
    where = f"in {relay['topic']} {relay['partition']}@{offsets}" if relay else "not relayed yet"
    command = f"{answer['command']} {answer['commandId'][:8]} (order {answer['aggregateId'][:8]} v{answer['version']})"
    title = f"GET /commands/{{commandId}}: {command} is {traced['state']}; its events {where}"
    table = Table(title=escape(title))
    for column in ("projection", "state", "applied version", "applied after acceptance", "parked"):
        table.add_column(column)
    accepted_at = datetime.fromisoformat(answer["timestamp"])
    for name, progress in traced["projections"].items():
        parked = progress.get("parked")
        applied_at = progress["appliedAt"]
        after = (
            f"{(datetime.fromisoformat(applied_at) - accepted_at).total_seconds() * 1000:,.0f} ms"
            if applied_at
            else "-"
        )
        table.add_row(
            name, progress["state"], str(progress["appliedVersion"]), after, parked["reason"] if parked else "-"
        )  # fmt: skip
    console.print(table)


def _seconds(value: float | None) -> str:
    return f"{value * 1000:.0f} ms" if value is not None else "not yet"
