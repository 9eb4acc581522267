"""`cqrs readapi serve`: the query API under uvicorn (the root CLI mounts `app` as `cqrs readapi`)."""

from __future__ import annotations

from typing import Annotated

import typer

from readapi.settings import ReadApiSettings, readapi_settings
from servicekit.cli import serve as serve_app

app = typer.Typer(help="The query side: orders, search and analytics over HTTP.", no_args_is_help=True)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 58002).")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Worker processes, each with its own clients.")] = None,
) -> None:
    """Run the read API under uvicorn; every setting also comes from `CQRS_READAPI_*` (names: `CQRS_STREAMS_*`)."""
    serve_app(
        "readapi.api.app:create_app",
        settings=readapi_settings,
        env_prefix="CQRS_READAPI_",
        overrides={"HOST": host, "PORT": port, "WORKERS": workers},
    )


@app.command()
def openapi() -> None:
    """Print the OpenAPI document (no store is contacted)."""
    import json

    from readapi.api.app import create_app

    typer.echo(json.dumps(create_app(ReadApiSettings()).openapi(), indent=2))


if __name__ == "__main__":
    app()
