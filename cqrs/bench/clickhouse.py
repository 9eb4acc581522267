"""What the HTTP hop costs: the same inserts and selects through the server and through chdb in-process.

    python -m cqrs.bench.clickhouse [--rows 10000 100000] [--repeat 5]

One run, side by side: the server runs as a child process on its own temp data dir; the in-process paths use a
second temp dir in this process (chdb allows one engine per process, the server's is in the child).
- http lz4 / http plain: clickhouse-connect's HTTP client against the server (lz4 is its default insert
  body compression, plain is `compress=False`);
- chdb client: clickhouse-connect's in-process chdb client (`interface="chdb"`), the same client-side
  serialization without HTTP;
- chdb raw: the Native bytes pushed straight into the engine (`send_insert`), i.e. the engine floor.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import chdb
import clickhouse_connect

from infra.clickhouse.launcher import ServerProcess

# chdb's own signature is untyped; a typed alias keeps the strict type check meaningful around it.
_chdb_connect: Callable[[str], Any] = chdb.connect

COLUMNS = ["event_id", "order_id", "version", "event_type", "status", "currency", "amount", "skus", "ts"]
DDL = """CREATE TABLE {name} (
    event_id UUID, order_id UUID, version UInt64, event_type LowCardinality(String),
    status LowCardinality(String), currency LowCardinality(String), amount Decimal(18, 2),
    skus Array(String), ts DateTime64(3)
) ENGINE = MergeTree ORDER BY (order_id, version)"""
SELECTS = {
    "select aggregate": "SELECT status, currency, count(), sum(amount) FROM {name} GROUP BY status, currency",
    "select 10k rows": "SELECT * FROM {name} LIMIT 10000",
}


def make_rows(count: int) -> list[tuple[Any, ...]]:
    start = datetime(2025, 1, 1)  # naive = UTC, as clickhouse-connect returns DateTime64 values
    statuses, currencies = ("pending", "confirmed", "shipped", "cancelled"), ("EUR", "USD", "GBP")
    return [
        (
            uuid.uuid4(),
            uuid.UUID(int=i // 3),
            i % 3 + 1,
            "OrderCreated",
            statuses[i % 4],
            currencies[i % 3],
            Decimal(i % 100_000) / 100,
            [f"SKU-{i % 97}", f"SKU-{i % 13}"],
            start + timedelta(milliseconds=i),
        )
        for i in range(count)
    ]


def fetch(client: Any, query: str) -> int:
    """Query results decode lazily: read them all, or only the first block would be timed."""
    return len(client.query(query).result_rows)


def timed(call: Callable[[], object], repeat: int) -> float:
    """Median seconds of `repeat` runs after one warm-up (the first client insert imports pandas, ~1 s)."""
    call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def run(sizes: Sequence[int], repeat: int) -> tuple[list[tuple[str, str, float, float | None]], float]:
    """Rows of (operation, path, median ms, rows/s), and the server's RSS (MiB) after the run."""
    results: list[tuple[str, str, float, float | None]] = []
    with tempfile.TemporaryDirectory() as tmp, ServerProcess(Path(tmp) / "server") as server:
        user, password = server.credentials.writer_user, server.credentials.writer_password.get_secret_value()
        http_lz4 = clickhouse_connect.get_client(host="127.0.0.1", port=server.port, username=user, password=password)
        http_plain = clickhouse_connect.get_client(
            host="127.0.0.1", port=server.port, username=user, password=password, compress=False
        )
        local = clickhouse_connect.get_client(interface="chdb", path=str(Path(tmp) / "local"))
        raw = _chdb_connect(str(Path(tmp) / "local"))
        clients = {"http lz4": http_lz4, "http plain": http_plain, "chdb client": local}
        for size in sizes:
            rows = make_rows(size)
            for path, client in clients.items():
                name = f"ev_{path.replace(' ', '_')}_{size}"
                client.command(DDL.format(name=name))
                seconds = timed(partial(client.insert, name, rows, column_names=COLUMNS), repeat)
                results.append((f"insert {size:,}", path, seconds * 1000, size / seconds))
            # The engine floor: the same rows as Native bytes, pushed without any client.
            native = raw.query(f"SELECT * FROM ev_chdb_client_{size} LIMIT {size}", "Native").bytes()
            raw.query(DDL.format(name=f"ev_raw_{size}"), "TabSeparated")

            def push(data: bytes = native, table: str = f"ev_raw_{size}") -> None:
                inserter = raw.send_insert(f"INSERT INTO {table}", "Native")
                inserter.append(data)
                inserter.finish()

            seconds = timed(push, repeat)
            results.append((f"insert {size:,}", "chdb raw", seconds * 1000, size / seconds))
        largest = max(sizes)
        for label, sql in SELECTS.items():
            for path, client in clients.items():
                query = sql.format(name=f"ev_{path.replace(' ', '_')}_{largest}")
                seconds = timed(partial(fetch, client, query), repeat)
                results.append((label, path, seconds * 1000, None))
        rss_after = server.rss_bytes() / 2**20
        for client in clients.values():
            client.close()
        raw.close()
    return results, rss_after


def idle_rss_mib() -> float:
    """RSS of a freshly started server that has answered only /ping."""
    with tempfile.TemporaryDirectory() as tmp, ServerProcess(Path(tmp) / "server") as server:
        time.sleep(1.0)
        return server.rss_bytes() / 2**20


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cqrs.bench.clickhouse", description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"idle server RSS: {idle_rss_mib():.0f} MiB")
    results, rss_after = run(args.rows, args.repeat)
    print(f"server RSS after the run: {rss_after:.0f} MiB")
    print("| operation | path | median ms | rows/s |")
    print("|---|---|---:|---:|")
    for operation, path, millis, rate in results:
        print(f"| {operation} | {path} | {millis:.1f} | {'' if rate is None else f'{rate:,.0f}'} |")


if __name__ == "__main__":
    main()
