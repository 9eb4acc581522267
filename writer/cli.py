"""`cqrs writer migrate | serve | token` and `cqrs token`: the writer's command line (typer).

`commands()` builds the command group for one way of serving the writer: the writer alone (`python -m writer.cli`)
or the app the composition root composes (`cqrs writer`, with the routes it mounts and their migrations).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Protocol

import typer

from servicekit.cli import serve as serve_app
from servicekit.principals import Role
from writer.settings import writer_settings

DatabaseUrl = Annotated[
    str | None, typer.Option(help="postgresql:// URL (default: CQRS_WRITER_DATABASE_URL or the local stack).")
]


class Migrated(Protocol):
    """What a migration run reports (`writer.migrate.MigrationReport`)."""

    @property
    def applied(self) -> tuple[str, ...]: ...


def commands(app_factory: str, migrate: Callable[[str], Migrated], *, serves: str = "the command API") -> typer.Typer:
    """`migrate`, `serve` (`app_factory` under uvicorn) and `token`, with `migrate` applying the given migrations."""
    app = typer.Typer(help="The command side: schema migrations, the HTTP API, dev tokens.", no_args_is_help=True)

    @app.command("migrate")
    def migrate_command(database_url: DatabaseUrl = None) -> None:
        """Apply pending schema migrations (yoyo) to the write model; safe to repeat."""
        report = migrate(database_url or writer_settings().database_url)
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
        serve_app(
            app_factory,
            settings=writer_settings,
            env_prefix="CQRS_WRITER_",
            overrides={"HOST": host, "PORT": port, "WORKERS": workers, "DATABASE_URL": database_url},
        )

    serve.__doc__ = f"Run {serves} under uvicorn."
    app.command()(token)
    return app


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


def _migrate(database_url: str) -> Migrated:
    from writer.migrate import migrate

    return migrate(database_url)


app = commands("writer.api.app:create_app", _migrate)

if __name__ == "__main__":
    app()
