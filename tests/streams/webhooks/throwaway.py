"""A database of its own for a webhook test: the webhook migrations alone, on the stack's Postgres, dropped after.
An agent on it sees only the endpoints its test registers (the shared `orders` database has other tests' too)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from yoyo import get_backend, read_migrations

from streams.webhooks.postgres import MIGRATIONS_DIR
from writer.migrate import yoyo_url


@contextmanager
def webhook_database(postgres_port: int, prefix: str) -> Iterator[str]:
    server = f"postgresql://postgres@127.0.0.1:{postgres_port}"
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{server}/{name}"
    try:
        backend = get_backend(yoyo_url(url))
        try:
            with backend.lock():
                backend.apply_migrations(backend.to_apply(read_migrations(str(MIGRATIONS_DIR))))
        finally:
            backend.connection.close()
        yield url
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
