"""`cqrs bench writer`: concurrent HTTP clients against the real writer service (uvicorn, real Postgres).

Closed loop: each client sends its next command when the previous one is answered. The mix is realistic: one
create-order per order, then add-item commands on that order. The load generator shares the machine's cores with
the writer and Postgres, so the figures are a floor for what the writer does on its own.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from cqrs.bench.report import latency_summary, report


async def _client(client: httpx.AsyncClient, until: float, latencies: list[float], failures: list[int]) -> None:
    order_id: str | None = None
    adds = 0
    body: dict[str, Any]
    while time.perf_counter() < until:
        if order_id is None or adds >= 9:
            path, body = (
                "/commands/create-order",
                {
                    "customerId": "bench-writer",
                    "currency": "EUR",
                    "items": [{"sku": "BENCH-1", "name": "Bench item", "quantity": 1, "unitPrice": "9.99"}],
                },
            )
            adds = 0
        else:
            item = {"sku": f"BENCH-{adds}", "name": "Bench item", "quantity": 1, "unitPrice": "1.00"}
            path, body = "/commands/add-item-to-order", {"orderId": order_id, "item": item}
            adds += 1
        started = time.perf_counter()
        response = await client.post(path, json=body)
        latencies.append((time.perf_counter() - started) * 1000)
        if response.status_code != 202:
            failures.append(response.status_code)
        elif path.endswith("create-order"):
            order_id = response.json()["aggregateId"]


async def _measure(url: str, token: str, clients: int, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    failures: list[int] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=30) as client:
        await client.post("/commands/create-order", json={})  # warm the connection and the app
        started = time.perf_counter()
        until = started + seconds
        await asyncio.gather(*(_client(client, until, latencies, failures) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    summary = latency_summary(latencies)
    return {
        "scenario": f"{clients} clients, {seconds:.0f} s",
        "commands": summary["count"],
        "refused": len(failures),
        "commands/s": round(summary["count"] / elapsed, 1),
        "p50 ms": summary["p50_ms"],
        "p95 ms": summary["p95_ms"],
        "p99 ms": summary["p99_ms"],
    }


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
    rows = [asyncio.run(_measure(url, token, count, seconds)) for count in clients]
    report("writer", rows, {"clients": clients, "seconds": seconds, "uvicorn_workers": workers})
