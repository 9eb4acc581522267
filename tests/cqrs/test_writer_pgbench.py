"""The writer bench's reference (`cqrs.bench.pgbench`): pgbench runs the writer's own create-order statement, and each
transaction writes a new order of its own, as the writer's would (else the ratio would compare against a statement
that fails or conflicts)."""

from __future__ import annotations

import psycopg
import pytest

from cqrs.bench import pgbench
from cqrs.bench.writer_grpc import CREATE_ORDER
from infra.stack import Stack
from writer.settings import WriterSettings

pytestmark = pytest.mark.stack


def _orders_of(database_url: str, customer: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM orders WHERE customer_id = %s", (customer,)).fetchone()
    assert row is not None
    return int(row[0])


def test_pgbench_runs_the_writers_statement_with_fresh_ids(relay: Stack) -> None:
    database_url = WriterSettings().database_url
    customer = str(CREATE_ORDER["customerId"])
    before = _orders_of(database_url, customer)

    result = pgbench.run(database_url, CREATE_ORDER, clients=2, seconds=1)

    assert result.transactions > 0
    assert result.failed == 0
    assert _orders_of(database_url, customer) - before == result.transactions
    assert 0 < result.p50_ms <= result.p99_ms


def test_the_script_is_the_writers_statement() -> None:
    text = pgbench.script(WriterSettings().database_url, CREATE_ORDER)
    assert "INSERT INTO orders" in text
    assert "INSERT INTO outbox" in text
    assert "INSERT INTO commands" in text
    assert "md5(:n || 'id0')::uuid" in text  # the order's id, fresh in every transaction
