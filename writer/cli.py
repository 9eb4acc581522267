"""`cqrs writer migrate | serve | token` and `cqrs token`: the writer's command line (typer).

The root CLI mounts `app` as `cqrs writer` and registers `token` as `cqrs token`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from servicekit.cli import serve as serve_app
from servicekit.principals import Role
from writer.settings import writer_settings

app = typer.Typer(help="The command side: schema migrations, the HTTP API, dev tokens.", no_args_is_help=True)

DatabaseUrl = Annotated[
    str | None, typer.Option(help="postgresql:// URL (default: CQRS_WRITER_DATABASE_URL or the local stack).")
]


@app.command()
def migrate(database_url: DatabaseUrl = None) -> None:
    """Apply pending schema migrations (yoyo) to the write model; safe to repeat."""
    from writer.migrate import migrate as apply_migrations

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
    database_url: DatabaseUrl = None,
) -> None:
    """Run the command API under uvicorn."""
    serve_app(
        "writer.api.app:create_app",
        settings=writer_settings,
        env_prefix="CQRS_WRITER_",
        overrides={"HOST": host, "PORT": port, "WORKERS": workers, "DATABASE_URL": database_url},
    )


@app.command()
def token(
    role: Annotated[Role, typer.Option(help="The role the token grants.")] = Role.CUSTOMER,
    subject: Annotated[str | None, typer.Option(help="The `sub` claim (a customer's customerId).")] = None,
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds.")] = 3600,
) -> None:
    """Print a signed dev JWT for the writer API (use as `Authorization: Bearer <token>`)."""
    from servicekit.tokens import mint_token

    typer.echo(
        mint_token(
            writer_settings(),
            subject=subject or f"{role.value}-1",
            roles=[role],
            ttl=timedelta(seconds=ttl),
        )
    )


if __name__ == "__main__":
    app()
