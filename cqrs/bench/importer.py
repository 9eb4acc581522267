"""`cqrs bench import`: N create-order commands through `POST /commands/batch` (as `cqrs import` sends them), then —
if the projections run (`cqrs stack up streams`) — the time until every read model shows all N orders.

The writer under test is the stack's (`cqrs stack up writer`); load generator, writer, Postgres, Debezium and the
projections share the machine's cores, so the figures are a floor.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import httpx

from cqrs.bench.report import report

SHOWN_CHUNK = 5_000
"""Order ids per read-model query while waiting for the projections."""


def batch_lines(run: str, orders: int) -> list[str]:
    return [json.dumps(_create_order(run, n)) for n in range(orders)]


def _create_order(run: str, n: int) -> dict[str, Any]:
    item = {"sku": f"BENCH-{n % 500}", "name": "Bench item", "quantity": 1 + n % 3, "unitPrice": "9.99"}
    body = {"customerId": f"bench-import-{run}", "currency": "EUR", "items": [item]}
    return {"command": "create-order", "idempotencyKey": f"bench-import-{run}-{n}", "body": body}


async def _send(client: httpx.AsyncClient, chunk: list[str], order_ids: list[str], refused: list[int]) -> None:
    async with client.stream("POST", "/commands/batch", content="\n".join(chunk)) as response:
        if response.status_code != 200:
            await response.aread()
            status, text = response.status_code, response.text[:200]
            raise RuntimeError(
                f"the writer at {client.base_url} refused the batch (HTTP {status}): {text}"
                " — a writer started from older code has no batch endpoint; restart it"
            )
        async for text in response.aiter_lines():
            if text:
                result = json.loads(text)
                if result["outcome"] in ("accepted", "replayed"):
                    order_ids.append(result["aggregateId"])
                else:
                    refused.append(result["status"])


async def import_orders(url: str, token: str, lines: list[str], chunk_lines: int, parallel: int) -> dict[str, Any]:
    """Send `lines` in chunks, `parallel` requests at a time; commands/s over the whole run."""
    order_ids: list[str] = []
    refused: list[int] = []
    chunks = [lines[start : start + chunk_lines] for start in range(0, len(lines), chunk_lines)]
    gate = asyncio.Semaphore(parallel)
    timeout = httpx.Timeout(30.0, read=None)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout) as client:

        async def one(chunk: list[str]) -> None:
            async with gate:
                await _send(client, chunk, order_ids, refused)

        started = time.perf_counter()
        await asyncio.gather(*(one(chunk) for chunk in chunks))
        elapsed = time.perf_counter() - started
    return {"order_ids": order_ids, "refused": len(refused), "seconds": elapsed, "finished_at": time.monotonic()}


async def wait_for_read_models(order_ids: list[str], since: float, timeout_s: float) -> dict[str, float | None]:
    """Per projection: seconds from the end of the import until it shows every order (None: not within timeout)."""
    from streams.peek import shown
    from streams.projections import PROJECTIONS
    from streams.settings import StreamsSettings

    settings = StreamsSettings()
    missing = {name: list(order_ids) for name in PROJECTIONS}
    caught_up: dict[str, float | None] = dict.fromkeys(PROJECTIONS)
    deadline = time.monotonic() + timeout_s
    while any(missing.values()) and time.monotonic() < deadline:
        for name, ids in missing.items():
            if not ids:
                continue
            seen: set[str] = set()
            for start in range(0, len(ids), SHOWN_CHUNK):
                seen |= set(await shown(settings, name, ids[start : start + SHOWN_CHUNK]))
            missing[name] = [order_id for order_id in ids if order_id not in seen]
            if not missing[name]:
                caught_up[name] = round(time.monotonic() - since, 2)
        await asyncio.sleep(0.5)
    return caught_up


def _projections_running() -> bool:
    from cqrs.apps import pipeline_stack
    from infra.settings import stack_settings

    return any(row.pid is not None and row.healthy for row in pipeline_stack(stack_settings(), ["streams"]).status())


def run(orders: int, chunk_lines: int, parallel: int, read_model_timeout_s: float, url: str | None = None) -> None:
    from cqrs.apps import pipeline_stack
    from infra.settings import stack_settings
    from servicekit.principals import Role
    from servicekit.tokens import mint_token
    from writer.settings import WriterSettings

    settings = stack_settings()
    if url is None:
        pipeline_stack(settings, ["writer"]).up()
        url = f"http://127.0.0.1:{settings.ports.writer}"
    token = mint_token(WriterSettings(), subject="bench-import", roles=[Role.STAFF])
    imported = asyncio.run(import_orders(url, token, batch_lines(uuid.uuid4().hex[:10], orders), chunk_lines, parallel))
    seconds = imported["seconds"]
    row: dict[str, Any] = {
        "scenario": f"{orders:,} orders",
        "commands": len(imported["order_ids"]),
        "refused": imported["refused"],
        "import s": round(seconds, 2),
        "commands/s": round(orders / seconds, 1),
    }
    if _projections_running():
        waits = asyncio.run(wait_for_read_models(imported["order_ids"], imported["finished_at"], read_model_timeout_s))
        for name, waited in waits.items():
            row[f"{name} caught up s"] = waited if waited is not None else f"> {read_model_timeout_s:.0f}"
        if all(waited is not None for waited in waits.values()):
            row["all read models s (from start)"] = round(seconds + max(w for w in waits.values() if w is not None), 2)
    else:
        row["read models"] = "projections not running (cqrs stack up streams)"
    report("import", [row], {"orders": orders, "chunk_lines": chunk_lines, "parallel_requests": parallel})
