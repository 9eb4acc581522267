"""`cqrs bench import`'s measurements, small, against a live writer: vegeta's single commands are accepted create-order
requests with their own keys, and the import of a file through the `cqrs import` client applies it, then replays it.
(The whole bench also stops and restarts the shared stack's projections: not in the suite.)"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import psycopg
import pytest

from cqrs.bench.importer import Target, batch_lines, import_file, single_commands, single_row
from servicekit.principals import Role
from servicekit.tokens import mint_token
from writer.settings import WriterSettings

pytestmark = pytest.mark.stack


def test_the_import_bench_measures_single_commands_an_import_and_its_rerun(
    writer_url: str, writer_settings: WriterSettings, orders_database_url: str, tmp_path: Path
) -> None:
    subject = f"bench-smoke-{uuid.uuid4().hex[:6]}"
    target = Target(writer_url, mint_token(writer_settings, subject=subject, roles=[Role.STAFF]))

    single = single_row("single", single_commands(target, 1.0, tmp_path))
    assert single["applied"] > 0
    assert (single["refused"], single["lines/s"] > 0) == (0, True)

    path = tmp_path / "orders.ndjson"
    run = uuid.uuid4().hex[:10]
    path.write_text("\n".join(batch_lines(run, 300)) + "\n")
    first = asyncio.run(import_file(target, path, chunk_lines=100, in_flight=2))
    rerun = asyncio.run(import_file(target, path, chunk_lines=100, in_flight=2))

    assert (first["lines"], first["applied"], first["replayed"], first["refused"]) == (300, 300, 0, 0)
    assert (rerun["lines"], rerun["applied"], rerun["replayed"], rerun["refused"]) == (300, 0, 300, 0)
    assert first["lines/s"] > 0
    assert rerun["lines/s"] > 0
    with psycopg.connect(orders_database_url) as conn:
        row = conn.execute("SELECT count(*) FROM orders WHERE customer_id = %s", (f"bench-import-{run}",)).fetchone()
    assert row == (300,)
