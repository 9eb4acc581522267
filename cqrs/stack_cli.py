"""`cqrs stack install | up | down | status | logs SERVICE`."""

from __future__ import annotations

import shlex
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cqrs.apps import APP_TYPES, pipeline_stack, relay_status
from infra.clickhouse.credentials import load as load_credentials
from infra.services import SERVICE_NAMES
from infra.settings import stack_settings
from infra.stack import ServiceStatus, Stack

app = typer.Typer(help="The native stack: every real service on loopback, data under .stack/.", no_args_is_help=True)
console = Console()

APP_NAMES = tuple(app.name for app in APP_TYPES)
ServicesArg = Annotated[
    list[str] | None,
    typer.Argument(
        help=f"Some of: {', '.join(SERVICE_NAMES)} (default: all of those), or our apps: {', '.join(APP_NAMES)}.",
        show_default=False,
    ),
]


def _stack(services: list[str] | None) -> Stack:
    known = SERVICE_NAMES + APP_NAMES
    unknown = sorted(set(services or ()) - set(known))
    if unknown:
        raise typer.BadParameter(f"unknown service(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return pipeline_stack(stack_settings(), services or ())


@app.command()
def install(services: ServicesArg = None) -> None:
    """Fetch and build every pinned artifact into the per-user cache (a no-op when done)."""
    started = time.monotonic()
    with console.status("installing…"):
        _stack(services).install()
    console.print(f"[green]installed[/] in {time.monotonic() - started:.1f} s")


@app.command()
def up(
    services: ServicesArg = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Worker processes per projection for `streams` (CQRS_STREAMS_WORKERS).")
    ] = None,
) -> None:
    """Start what is not running and wait until every service answers real requests."""
    if workers:
        from cqrs.apps import StreamsWorker

        StreamsWorker.workers = workers
    started = time.monotonic()
    stack = _stack(services)
    with console.status("starting the stack…") as status:
        stack.up(progress=lambda message: status.update(message))
    console.print(f"[green]stack up[/] in {time.monotonic() - started:.1f} s")
    rows = stack.status()
    print_status(rows)
    print_relay(stack, rows)


@app.command()
def down(services: ServicesArg = None) -> None:
    """Stop our own processes (by pid file), our apps included (read regions' first, `cqrs region`); data stays."""
    if not services:
        from cqrs.regions.apps import region_stack
        from cqrs.regions.settings import KNOWN

        for region in KNOWN:  # they read the services stopped next
            region_stack(stack_settings(), region).down(progress=console.print)
    _stack(services or [*SERVICE_NAMES, *APP_NAMES]).down(progress=console.print)


@app.command()
def status(
    services: ServicesArg = None,
    cpu_seconds: Annotated[
        float, typer.Option("--cpu-seconds", min=0, help="Measure each service's CPU over this long (0: skip).")
    ] = 2.0,
) -> None:
    """A table of service, version, port, pid, health, memory and CPU (share of the whole machine, measured now:
    with nothing to do, the stack should stay under 10%); exits 1 if any service is unhealthy."""
    stack = _stack(services)
    rows = stack.status()
    print_status(rows, stack.cpu_share(cpu_seconds) if cpu_seconds else None)
    relay_healthy = print_relay(stack, rows)
    if not all(row.healthy for row in rows) or not relay_healthy:
        raise typer.Exit(1)


@app.command()
def logs(
    service: Annotated[str, typer.Argument(help="Service name.")],
    lines: Annotated[int, typer.Option("--lines", "-n")] = 50,
) -> None:
    """Print the tail of a service's log."""
    stack = _stack([service])
    console.print(stack.log_tail(stack.by_name[service], lines), markup=False, highlight=False)


@app.command()
def credentials(
    service: Annotated[str, typer.Argument(help="The service whose generated credentials to show: clickhouse.")],
    env: Annotated[
        bool, typer.Option("--env", help='As shell/compose variables (`set -a; eval "$(…)"` before compose).')
    ] = False,
) -> None:
    """Show the users and passwords the stack generated for a service (kept in .stack/conf, mode 600)."""
    if service != "clickhouse":
        raise typer.BadParameter(f"{service!r} has no generated credentials; only clickhouse does")
    users = load_credentials(stack_settings().clickhouse_users_file)
    writer, analyst = users.writer_password.get_secret_value(), users.analyst_password.get_secret_value()
    if env:
        # The names docker-compose.yml reads (it passes them on to clickhouse-server and our apps).
        typer.echo(f"CLICKHOUSE_WRITER_PASSWORD={shlex.quote(writer)}")
        typer.echo(f"CLICKHOUSE_ANALYST_PASSWORD={shlex.quote(analyst)}")
        return
    table = Table(title=f"clickhouse users ({stack_settings().clickhouse_users_file})")
    for column in ("user", "password", "access"):
        table.add_column(column)
    table.add_row(users.writer_user, writer, "full (streams worker)")
    table.add_row(users.analyst_user, analyst, "read-only, limited (read API, analysts)")
    console.print(table)


def print_status(rows: list[ServiceStatus], cpu: dict[str, float] | None = None) -> None:
    """The status table; `cpu`: each service's share of the machine (`Stack.cpu_share`), a column when given."""
    table = Table(title="native stack")
    columns = ["service", "version", "port", "pid", "healthy", "RSS (PSS)"] + (["CPU"] if cpu is not None else [])
    for column in columns:
        table.add_column(column, justify="left" if column in ("service", "version", "healthy") else "right")
    for row in rows:
        cells = [row.name, row.version, str(row.port), str(row.pid or "-")]
        cells += ["[green]yes[/]" if row.healthy else "[red]no[/]", _mib(row.rss_bytes)]
        table.add_row(*cells, *([_percent(cpu.get(row.name))] if cpu is not None else []))
    table.add_section()
    total = ["total", "", "", "", "", _mib(sum(row.rss_bytes for row in rows))]
    table.add_row(*total, *([_percent(sum(cpu.values()))] if cpu is not None else []))
    console.print(table)


def print_relay(stack: Stack, rows: list[ServiceStatus]) -> bool:
    """The relay's line (when Connect or the writer is among the services): connector and task states, whether its
    slot is streamed and how many WAL bytes it has not confirmed. Healthy unless it should relay and does not: a
    connector nobody registered is fine while no writer runs (a plain `cqrs stack up`)."""
    running = {row.name for row in rows if row.pid is not None}
    if not {"connect", "writer"} & {service.name for service in stack.named}:
        return True
    state = relay_status()
    healthy = state.problem is None or (state.connector_state == "MISSING" and "writer" not in running)
    slot = "-" if state.slot_active is None else ("streamed" if state.slot_active else "[red]idle[/]")
    lag = "-" if state.slot_lag_bytes is None else f"{state.slot_lag_bytes:,} B"
    verdict = "[green]yes[/]" if healthy else f"[red]no[/]: {state.problem}"
    tasks = ", ".join(state.task_states) or "-"
    console.print(f"relay {state.connector}: connector {state.connector_state}, tasks {tasks}; healthy {verdict}")
    console.print(f"  replication slot {state.slot or '-'}: {slot}, lag {lag}")
    return healthy


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{share:.1%}"


def _mib(size: int) -> str:
    return f"{size / 2**20:,.0f} MiB"
