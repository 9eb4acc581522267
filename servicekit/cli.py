"""What each API's `serve` command does (`cqrs writer serve`, `cqrs readapi serve`): command-line overrides on top
of the environment, JSON logs, then the app under uvicorn."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Protocol

from servicekit.serving import run_under_uvicorn, shared_metrics_dir


class ServerSettings(Protocol):
    """The fields of a service's settings model that say how to run it."""

    @property
    def host(self) -> str: ...

    @property
    def port(self) -> int: ...

    @property
    def workers(self) -> int: ...

    @property
    def log_level(self) -> str: ...


class CachedSettings(Protocol):
    """A service's `lru_cache`d settings function (`writer_settings`, `readapi_settings`)."""

    def __call__(self) -> ServerSettings: ...

    def cache_clear(self) -> None: ...


def serve(app_factory: str, *, settings: CachedSettings, env_prefix: str, overrides: Mapping[str, object]) -> None:
    """Run `module:factory` with the command line's `overrides` (None: not given) on top of the environment.

    Workers are separate processes that build their settings from the environment, so the overrides go there
    (`{env_prefix}{NAME}`), and this process's cached settings are read again. With several workers, their metrics
    share a temporary directory named after the app's package (`writer-metrics-…`)."""
    from servicekit.logs import configure_logging  # not at import: the CLI starts faster without structlog
    from servicekit.tokens import TokenSettings, TokenSettingsError, check_token_settings

    for name, value in overrides.items():
        if value is not None:
            os.environ[f"{env_prefix}{name}"] = str(value)
    settings.cache_clear()
    current = settings()
    if isinstance(current, TokenSettings):
        try:
            check_token_settings(current)  # refuse to start rather than accept tokens signed with a public secret
        except TokenSettingsError as error:
            raise SystemExit(f"error: {error}") from None
    configure_logging(current.log_level)
    metrics_prefix = f"{app_factory.partition('.')[0]}-metrics-"
    with shared_metrics_dir(current.workers, prefix=metrics_prefix):
        run_under_uvicorn(app_factory, host=current.host, port=current.port, workers=current.workers)
