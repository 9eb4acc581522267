"""`cqrs region status | drop | proxy`: a read region's lag, its removal, and its command proxy's server.

Start a region with `cqrs stack up --region eu` (its projections catch up from the log, so a region added later is a
rebuild); `cqrs region drop eu` stops its processes and deletes its read models, consumer groups, DLQ topics and
mirror keys; the primary's are never touched (every name differs: `StreamsSettings.in_region`).
"""

from __future__ import annotations

import asyncio
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
    try:
        asyncio.run(_delete_groups(streams.kafka_bootstrap, streams.group_prefix))
    except RegionNotDropped as error:
        console.print(f"[red]error[/] {error}")
        raise typer.Exit(1) from None
    console.print(f"[green]region {region} dropped[/]")


async def _delete_groups(bootstrap: str, prefix: str, *, within_s: float = 30.0) -> None:
    """The region's consumer groups: a region added again must start from the log's beginning, not where it was. A
    group whose members are still leaving cannot be deleted yet (NON_EMPTY_GROUP): retried until `within_s`."""
    import time

    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.protocol.admin import DeleteGroupsRequest

    if not prefix:
        raise ValueError("no group prefix: that would be every group, the primary's too")
    done = {0, 69}  # NONE, GROUP_ID_NOT_FOUND
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        left = {group for group, _ in await admin.list_consumer_groups() if group.startswith(prefix)}
        deadline = time.monotonic() + within_s
        while left:
            for group in sorted(left):
                node = await admin.find_coordinator(group)
                # aiokafka's admin client has no call for it; its protocol has the request (DeleteGroups, key 42).
                response = await admin._send_request_to_node(node, DeleteGroupsRequest([group]))
                if all(code in done for _, code in response.results):
                    left.discard(group)
            if left and time.monotonic() > deadline:
                names = ", ".join(sorted(left))
                raise RegionNotDropped(f"consumer groups {names} could not be deleted yet; run the drop again")
            if left:
                await asyncio.sleep(1.0)
    finally:
        await admin.close()


class RegionNotDropped(RuntimeError):
    """Part of a region outlived its drop (the command says which part; running it again finishes it)."""


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
