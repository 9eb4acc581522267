"""`cqrs writer migrate | serve | token`: the writer's command line for the command API as it is served, with the
webhook routes mounted (`cqrs.writer_api`) and their migrations applied. `python -m writer.cli` runs the writer
alone.

`cqrs import` is the writer's importer with the projections' lag reported at its end (read here, in the composition
root, as `cqrs projections status` reads it: the writer knows nothing of the streams)."""

from __future__ import annotations

from writer.cli import Migrated, commands, token
from writer.importer import Lag, import_command

__all__ = ["app", "import_file", "token"]


def _migrate(database_url: str) -> Migrated:
    from cqrs.writer_api import migrate

    return migrate(database_url)


async def projection_lag() -> list[Lag]:
    """Every projection's consumer lag (events and seconds behind), as `cqrs projections status` shows it."""
    from streams.settings import StreamsSettings
    from streams.status import all_statuses

    return [
        Lag(status.projection, status.lag_events, status.lag_seconds, status.error)
        for status in await all_statuses(StreamsSettings())
    ]


app = commands("cqrs.writer_api:create_app", _migrate, serves="the command API (`/webhooks` included)")
import_file = import_command(projection_lag)

if __name__ == "__main__":
    app()
