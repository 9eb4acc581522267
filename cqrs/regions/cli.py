"""`cqrs region status | drop | proxy`: a read region's lag, its removal, and its command proxy's server.

Start a region with `cqrs stack up --region eu` (its projections catch up from the log, so a region added later is a
rebuild); `cqrs region drop eu` stops its processes and deletes its read models, consumer groups, DLQ topics and
mirror keys; the primary's are never touched (every name differs: `StreamsSettings.in_region`).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cqrs.regions.settings import region_settings
from infra.settings import stack_settings

app = typer.Typer(help="Read regions: lag, drop, and the command proxy's server.", no_args_is_help=True)
console = Console()
RegionArg = Annotated[str, typer.Argument(help="The region's name (eu, us, ap).")]


@app.command()
def up(
    region: RegionArg,
    wan_delay_ms: Annotated[
        float | None, typer.Option(min=0, help="Delay the proxy adds to each command (CQRS_REGION_WAN_DELAY_MS).")
    ] = None,
    from_end: Annotated[
        bool, typer.Option(help="A new region starts at the log's end instead of catching up (demos, benches).")
    ] = False,
) -> None:
    """Start the region: its projections (from the log's beginning the first time), read API and command proxy."""
    import os
    import time

    from cqrs.regions.apps import region_stack
    from cqrs.stack_cli import print_status

    if wan_delay_ms is not None:
        os.environ["CQRS_REGION_WAN_DELAY_MS"] = str(wan_delay_ms)
    started = time.monotonic()
    stack = region_stack(stack_settings(), region)
    if from_end:
        from cqrs.regions.apps import start_at_log_end

        start_at_log_end(stack_settings(), region)
    with console.status(f"starting region {region}…") as shown:
        stack.up(progress=lambda message: shown.update(message))
    console.print(f"[green]region {region} up[/] in {time.monotonic() - started:.1f} s")
    settings = region_settings(region)
    console.print(f"read API {settings.readapi_url}, commands {settings.proxy_url}")
    print_status(stack.status())


@app.command()
def down(region: RegionArg) -> None:
    """Stop the region's processes (its read models stay; `drop` deletes them)."""
    from cqrs.regions.apps import region_stack

    region_stack(stack_settings(), region).down(progress=console.print)


@app.command()
def status(region: RegionArg) -> None:
    """Per projection of the region: generation, lag in events and seconds, rate, DLQ (as `cqrs projections status`
    shows the primary's)."""
    from streams.status import all_statuses

    statuses = asyncio.run(all_statuses(region_settings(region).streams()))
    table = Table(title=f"projections of region {region}")
    for column in ("projection", "gen", "group", "lag (events)", "lag (s)", "rate (ev/s)", "DLQ"):
        table.add_column(column, justify="left" if column in ("projection", "group") else "right")
    for s in statuses:
        cells = [s.projection, str(s.generation or "-"), s.group, f"{s.lag_events:,}", f"{s.lag_seconds:.1f}"]
        table.add_row(*cells, f"{s.rate:,.0f}", str(s.dlq_events))
    console.print(table)


@app.command()
def drop(region: RegionArg, yes: Annotated[bool, typer.Option("--yes", "-y")] = False) -> None:
    """Stop the region's processes and delete everything it projected (the primary keeps running untouched)."""
    from cqrs.regions.apps import region_stack
    from streams.sandbox import remove

    if not yes:
        typer.confirm(f"Drop region {region}: its read models, consumer groups and DLQ topics?", abort=True)
    region_stack(stack_settings(), region).down(progress=console.print)
    streams = region_settings(region).streams()
    asyncio.run(remove(streams, events=False))
    asyncio.run(_delete_groups(streams.kafka_bootstrap, streams.group_prefix))
    console.print(f"[green]region {region} dropped[/]")


async def _delete_groups(bootstrap: str, prefix: str) -> None:
    """The region's consumer groups: a region added again must start from the log's beginning, not where it was."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        groups = [group for group, _ in await admin.list_consumer_groups() if group.startswith(prefix)]
        if groups:
            with contextlib.suppress(Exception):  # a group still closing is deleted by its expiry
                await admin.delete_consumer_groups(groups)
    finally:
        await admin.close()


@app.command()
def proxy(
    region: RegionArg,
    port: Annotated[int | None, typer.Option(help="Port (default: the region's block).")] = None,
) -> None:
    """Serve the region's command endpoint (forwards to the primary writer; `CQRS_PROXY_*` settings)."""
    from cqrs.regions.proxy import proxy_settings
    from servicekit.cli import serve

    settings = region_settings(region)
    overrides = {"REGION": region, "PORT": port or settings.proxy_port}
    serve("cqrs.regions.proxy:create_app", settings=proxy_settings, env_prefix="CQRS_PROXY_", overrides=overrides)


if __name__ == "__main__":
    app()
