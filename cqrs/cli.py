"""The one console script, `cqrs`: each package contributes its own sub-commands."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from connectors import cli as connectors_cli
from connectors.errors import ConnectorError
from cqrs import stack_cli, writer_cli
from cqrs.bench import cli as bench_cli
from cqrs.regions import cli as region_cli
from cqrs.top.command import top
from infra.errors import CommandFailure, StackError
from readapi import cli as readapi_cli
from streams import cli as streams_cli
from streams.webhooks import cli as webhooks_cli

app = typer.Typer(help="CQRS order pipeline operations.", no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(stack_cli.app, name="stack")
app.add_typer(connectors_cli.app, name="connectors")
app.add_typer(bench_cli.app, name="bench")
app.add_typer(writer_cli.app, name="writer")
app.add_typer(readapi_cli.app, name="readapi")
app.add_typer(streams_cli.app, name="streams")
app.add_typer(streams_cli.projections_app, name="projections")
app.add_typer(region_cli.app, name="region")
app.command("token")(writer_cli.token)
app.add_typer(webhooks_cli.app, name="webhooks")
app.command("import")(writer_cli.import_file)
app.command("top")(top)


@app.command()
def demo() -> None:
    """Start everything, import sample orders, post a live story, show it in every model, the read API, a webhook."""
    from cqrs.demo import run_demo

    run_demo()


@app.command()
def chaos(
    service: Annotated[
        list[str] | None, typer.Option("--service", "-s", help="Scenarios to run (default: all, one after another).")
    ] = None,
    rate: Annotated[int, typer.Option(help="Commands/s of steady load.")] = 200,
    seconds: Annotated[float, typer.Option(help="Seconds of load per scenario; the kill comes at a third.")] = 60.0,
    down_s: Annotated[float, typer.Option(help="Seconds the killed service stays down.")] = 5.0,
    converge_s: Annotated[float, typer.Option(help="Bound for every read model to converge.")] = 240.0,
) -> None:
    """SIGKILL and restart Connect, Kafka, the streams worker, the read API, PostgreSQL and Redis under load; check that
    every accepted command is in every read model exactly once. Exit code 1 if any scenario lost or doubled."""
    from cqrs.e2e.chaos import SCENARIOS, run

    unknown = sorted(set(service or ()) - set(SCENARIOS))
    if unknown:
        raise typer.BadParameter(
            f"unknown scenario(s) {unknown}; known: {', '.join(SCENARIOS)}", param_hint="--service"
        )
    if not run(list(service or SCENARIOS), rate, seconds, down_s, converge_s):
        raise typer.Exit(1)


def main() -> None:
    """Entry point: named errors become one clear message and their own exit code, never a bare trace."""
    try:
        app()
    except StackError as error:
        console = Console(stderr=True)
        console.print(f"[red]error[/] {escape(error.service)}: {escape(error.problem)}", highlight=False)
        if error.fix:
            console.print(f"[yellow]fix[/] {escape(error.fix)}", highlight=False)
        sys.exit(error.exit_code)
    except (ConnectorError, CommandFailure) as error:  # each carries its own exit code
        Console(stderr=True).print(f"[red]error[/] {escape(str(error))}", highlight=False)
        sys.exit(error.exit_code)
