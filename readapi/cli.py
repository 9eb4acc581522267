"""`cqrs readapi serve`: the query API under uvicorn (the root CLI mounts `app` as `cqrs readapi`)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from readapi.settings import ReadApiSettings, readapi_settings
from writer.serving import run_under_uvicorn, shared_metrics_dir

app = typer.Typer(help="The query side: orders, search and analytics over HTTP.", no_args_is_help=True)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 58002).")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Worker processes, each with its own clients.")] = None,
) -> None:
    """Run the read API under uvicorn; every setting also comes from `CQRS_READAPI_*` (names: `CQRS_STREAMS_*`)."""
    from writer.logs import configure_logging

    # Workers are separate processes that build their settings from the environment: pass overrides there.
    for name, value in {"HOST": host, "PORT": port, "WORKERS": workers}.items():
        if value is not None:
            os.environ[f"CQRS_READAPI_{name}"] = str(value)
    readapi_settings.cache_clear()
    settings = readapi_settings()
    configure_logging(settings.log_level)
    with shared_metrics_dir(settings.workers, prefix="readapi-metrics-"):
        run_under_uvicorn(
            "readapi.api.app:create_app", host=settings.host, port=settings.port, workers=settings.workers
        )


@app.command()
def openapi() -> None:
    """Print the OpenAPI document (no store is contacted)."""
    import json

    from readapi.api.app import create_app

    typer.echo(json.dumps(create_app(ReadApiSettings()).openapi(), indent=2))


if __name__ == "__main__":
    app()
