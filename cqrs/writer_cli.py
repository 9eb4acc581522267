"""`cqrs writer migrate | serve | token`: the writer's command line for the command API as it is served, with the
webhook routes mounted (`cqrs.writer_api`) and their migrations applied. `python -m writer.cli` runs the writer
alone."""

from __future__ import annotations

from writer.cli import Migrated, commands, token

__all__ = ["app", "token"]


def _migrate(database_url: str) -> Migrated:
    from cqrs.writer_api import migrate

    return migrate(database_url)


app = commands("cqrs.writer_api:create_app", _migrate, serves="the command API (`/webhooks` included)")

if __name__ == "__main__":
    app()
