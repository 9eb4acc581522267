"""The one console script, `cqrs`: each package contributes its own sub-commands."""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.markup import escape

from connectors import cli as connectors_cli
from connectors.errors import ConnectorError
from infra import bench_cli, stack_cli
from infra.errors import StackError
from streams import cli as streams_cli
from streams.errors import StreamsError
from writer import cli as writer_cli

app = typer.Typer(help="CQRS order pipeline operations.", no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(stack_cli.app, name="stack")
app.add_typer(connectors_cli.app, name="connectors")
app.add_typer(bench_cli.app, name="bench")
app.add_typer(writer_cli.app, name="writer")
app.add_typer(streams_cli.app, name="streams")
app.add_typer(streams_cli.projections_app, name="projections")
app.command("token")(writer_cli.token)


@app.command()
def demo() -> None:
    """Start the stack and show it (later: post commands and show them in every read model)."""
    from infra.demo import run_demo

    run_demo()


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
    except (ConnectorError, StreamsError) as error:  # both carry their own exit code
        Console(stderr=True).print(f"[red]error[/] {escape(str(error))}", highlight=False)
        sys.exit(error.exit_code)
