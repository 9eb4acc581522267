"""`cqrs bench writer`: the writer's commands/s against what PostgreSQL does with the writer's own transaction, in one
run: vegeta (Go) posting `create-order` over HTTP, closed loop, one connection per client, and pgbench running the
statement the writer sends for that command (`cqrs.bench.pgbench`), with as many clients, on the same database.

Rounds alternate (HTTP, pgbench, HTTP, …) so that load drifting on a shared machine touches both alike; each figure is
the median over the rounds, the ratio the median of the per-round ratios. The ratio is the share of its own
transaction's ceiling the writer reaches: what HTTP, validation, the token, the handler and the driver cost on top.
"""

from __future__ import annotations

import statistics
from typing import Any

from cqrs.bench import pgbench
from cqrs.bench.report import report
from cqrs.bench.writer_grpc import CREATE_ORDER, http_create_orders, median_row

ROUNDS = 3


def against_pgbench(url: str, token: str, database_url: str, clients: int, seconds: float) -> list[dict[str, Any]]:
    http_runs, pgbench_runs = [], []
    for _ in range(ROUNDS):
        http_runs.append(http_create_orders(url, token, clients, seconds))
        ceiling = pgbench.run(database_url, CREATE_ORDER, clients=clients, seconds=seconds)
        pgbench_runs.append({"requests": ceiling.transactions, "accepted": ceiling.transactions - ceiling.failed,
                             "rate": ceiling.transactions_per_s,
                             "p50_ms": ceiling.p50_ms, "p99_ms": ceiling.p99_ms})  # fmt: skip
    ratios = [h["rate"] / p["rate"] for h, p in zip(http_runs, pgbench_runs, strict=True) if p["rate"]]
    http_row = median_row(f"HTTP create-order, {clients} clients", "vegeta", http_runs)
    http_row["÷ pgbench"] = round(statistics.median(ratios), 2) if ratios else None
    pgbench_row = median_row(f"its transaction in pgbench, {clients} clients", "pgbench", pgbench_runs)
    return [http_row, pgbench_row]


def run(clients: list[int], seconds: float, workers: int, *, grpc: bool = False) -> None:
    import os

    from cqrs.apps import pipeline_stack
    from infra.settings import stack_settings
    from servicekit.principals import Role
    from servicekit.tokens import mint_token
    from writer.settings import WriterSettings

    settings = stack_settings()
    writer = pipeline_stack(settings, ["writer"])
    writer.down()  # restart with the requested number of workers
    os.environ["CQRS_WRITER_WORKERS"] = str(workers)
    writer.up()
    token = mint_token(WriterSettings(), subject="bench", roles=[Role.STAFF])
    url = f"http://127.0.0.1:{settings.ports.writer}"
    if grpc:
        from cqrs.bench.writer_grpc import compare

        target = f"127.0.0.1:{settings.ports.writer_grpc}"
        rows = [row for count in clients for row in compare(url, target, token, count, seconds)]
        settings_used = {"clients": clients, "seconds_per_round": seconds, "rounds": 3, "uvicorn_workers": workers}
        report("writer-grpc", rows, settings_used)
        return
    database_url = WriterSettings().database_url
    rows = [row for count in clients for row in against_pgbench(url, token, database_url, count, seconds)]
    report(
        "writer", rows, {"clients": clients, "seconds_per_round": seconds, "rounds": ROUNDS, "uvicorn_workers": workers}
    )
