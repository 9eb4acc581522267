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
        report = migrate(database_url or writer_settings().migration_database_url)
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


MAX_TOKEN_TTL = timedelta(hours=24)


class TokenRequestRefused(Exception):
    """`cqrs token` was asked for a token it does not mint without more (too long-lived, or the operator role)."""


def token(
    role: Annotated[Role, typer.Option(help="The role the token grants.")] = Role.CUSTOMER,
    subject: Annotated[str | None, typer.Option(help="The `sub` claim (a customer's customerId).")] = None,
    ttl: Annotated[int, typer.Option(min=1, help="Lifetime in seconds (at most 86400, a day).")] = 3600,
    allow_operator: Annotated[
        bool, typer.Option("--allow-operator", help="Needed to mint an operator token (it may do everything).")
    ] = False,
) -> None:
    """Print a signed JWT for the APIs (use as `Authorization: Bearer <token>`).

    Without a configured key it is signed with the built-in dev secret, which only a service in dev mode
    (`CQRS_DEV_MODE=1`, on loopback) accepts."""
    from servicekit.tokens import TokenSettingsError, mint_token

    try:
        lifetime = checked_request(role, ttl=ttl, allow_operator=allow_operator)
        typer.echo(mint_token(writer_settings(), subject=subject or f"{role.value}-1", roles=[role], ttl=lifetime))
    except (TokenRequestRefused, TokenSettingsError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None


def checked_request(role: Role, *, ttl: int, allow_operator: bool) -> timedelta:
    """The token's lifetime, or `TokenRequestRefused`: a leaked long-lived or operator token is costly."""
    lifetime = timedelta(seconds=ttl)
    if lifetime > MAX_TOKEN_TTL:
        limit = int(MAX_TOKEN_TTL.total_seconds())
        raise TokenRequestRefused(f"--ttl {ttl} is longer than the {limit} s (24 h) a token may live")
    if role is Role.OPERATOR and not allow_operator:
        raise TokenRequestRefused("an operator token may do everything: pass --allow-operator to mint one")
    return lifetime


def _migrate(database_url: str) -> Migrated:
    from writer.migrate import migrate

    return migrate(database_url)


app = commands("writer.api.app:create_app", _migrate)

if __name__ == "__main__":
    app()
