"""`cqrs writer migrate | serve | token`: the writer's command line for the command API as it is served, with the
webhook routes mounted (`cqrs.writer_api`). `python -m writer.cli` runs the writer alone."""

from __future__ import annotations

from typing import Annotated

import typer

from servicekit.cli import serve as serve_app
from writer import cli as writer_cli
from writer.settings import writer_settings

app = typer.Typer(help="The command side: schema migrations, the HTTP API, dev tokens.", no_args_is_help=True)


@app.command()
def migrate(database_url: writer_cli.DatabaseUrl = None) -> None:
    """Apply pending schema migrations (yoyo) to the write model, the webhook tables' included; safe to repeat."""
    from cqrs.writer_api import migrate as apply_migrations

    report = apply_migrations(database_url or writer_settings().database_url)
    if report.applied:
        typer.echo(f"applied {len(report.applied)} migration(s): {', '.join(report.applied)}")
    else:
        typer.echo("the schema is up to date")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8001).")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Worker processes, each with its own pool.")] = None,
    database_url: writer_cli.DatabaseUrl = None,
) -> None:
    """Run the command API (`/webhooks` included) under uvicorn."""
    serve_app(
        "cqrs.writer_api:create_app",
        settings=writer_settings,
        env_prefix="CQRS_WRITER_",
        overrides={"HOST": host, "PORT": port, "WORKERS": workers, "DATABASE_URL": database_url},
    )


token = app.command()(writer_cli.token)
"""The writer's own (also `cqrs token`)."""


if __name__ == "__main__":
    app()
