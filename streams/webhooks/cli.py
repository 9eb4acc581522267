"""`cqrs webhooks worker | dlq list | dlq replay`: run the delivery agent, inspect and replay its DLQ."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated
from uuid import UUID

import psycopg
import typer
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from streams.webhooks import ledger
from streams.webhooks.endpoints import Pool
from streams.webhooks.errors import WebhookStoreUnavailable
from streams.webhooks.replay import ReplayReport, replay
from streams.webhooks.settings import WebhookSettings

app = typer.Typer(help="Signed outbound webhooks: the delivery agent and its dead-letter queue.", no_args_is_help=True)
dlq_app = typer.Typer(help="Deliveries parked after their retries (table webhook_parked).", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
console = Console()

EndpointOption = Annotated[UUID | None, typer.Option("--endpoint", help="Only this endpoint id.")]
OrderOption = Annotated[str | None, typer.Option("--order", help="Only this order id.")]


@app.command()
def worker(log_level: Annotated[str, typer.Option(help="debug, info, warning, error.")] = "info") -> None:
    """Run the delivery agent (consumer group `webhooks` on events.Order) until SIGTERM/SIGINT."""
    from streams.logs import configure_logging
    from streams.webhooks.run import run_agent

    configure_logging(log_level)
    raise typer.Exit(run_agent(WebhookSettings()))


@dlq_app.command("list")
def list_parked(
    endpoint: EndpointOption = None,
    order: OrderOption = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many rows.")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Parked deliveries in replay order (per endpoint, per order, by version)."""
    parked = asyncio.run(_list(WebhookSettings(), endpoint, order, limit))
    if as_json:
        console.print_json(json.dumps([_as_dict(item) for item in parked]))
        return
    table = Table(title=f"webhook DLQ ({len(parked)} parked)")
    for column in ("endpoint", "order", "version", "event", "eventId", "attempts", "reason", "parked at"):
        table.add_column(column)
    for item in parked:
        d = item.delivery
        table.add_row(
            str(d.endpoint_id), d.order_id, f"{d.version}.{d.sequence}", d.event_type, d.event_id,
            str(item.attempts), escape(item.reason), f"{item.parked_at:%Y-%m-%d %H:%M:%S}" if item.parked_at else "",
        )  # fmt: skip
    console.print(table)


@dlq_app.command("replay")
def replay_parked(
    endpoint: EndpointOption = None,
    order: OrderOption = None,
    attempts: Annotated[int | None, typer.Option(min=1, help="Attempts per delivery (default: as the agent).")] = None,
) -> None:
    """Send parked deliveries again, in order; exits 1 if some stay parked."""
    report = asyncio.run(_replay(WebhookSettings(), endpoint, order, attempts))
    for failure in report.failures:
        console.print(f"[yellow]still failing[/] {escape(failure)}", highlight=False)
    console.print(f"delivered {report.delivered}, still parked {report.still_parked}")
    if report.still_parked:
        raise typer.Exit(1)


async def _list(settings: WebhookSettings, endpoint: UUID | None, order: str | None, limit: int) -> list[ledger.Parked]:
    async with _pool(settings) as pool, pool.connection() as conn:
        return await ledger.list_parked(conn, endpoint_id=endpoint, order_id=order, limit=limit)


async def _replay(
    settings: WebhookSettings, endpoint: UUID | None, order: str | None, attempts: int | None
) -> ReplayReport:
    async with _pool(settings) as pool:
        async with pool.connection() as conn:
            total = len(await ledger.list_parked(conn, endpoint_id=endpoint, order_id=order))
        columns = (TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task("replay", total=total)
            return await replay(
                settings, pool, endpoint_id=endpoint, order_id=order, attempts=attempts,
                progress=lambda settled: bar.advance(task, settled),
            )  # fmt: skip


@asynccontextmanager
async def _pool(settings: WebhookSettings) -> AsyncIterator[Pool]:
    pool: Pool = AsyncConnectionPool(
        settings.database, min_size=1, max_size=2, open=False, timeout=5, kwargs={"autocommit": True}
    )
    try:
        await pool.open(wait=True, timeout=5)
    except (PoolTimeout, psycopg.OperationalError) as error:
        raise WebhookStoreUnavailable(f"cannot reach the webhook tables at {settings.database}: {error}") from error
    try:
        yield pool
    finally:
        await pool.close()


def _as_dict(item: ledger.Parked) -> dict[str, object]:
    d = item.delivery
    return {
        "endpointId": str(d.endpoint_id), "orderId": d.order_id, "version": d.version, "sequence": d.sequence,
        "eventType": d.event_type, "eventId": d.event_id, "source": d.source, "attempts": item.attempts,
        "reason": item.reason, "parkedAt": item.parked_at.isoformat() if item.parked_at else None,
    }  # fmt: skip


if __name__ == "__main__":
    app()
