"""`cqrs bench import`: N create-order lines through `POST /commands/batch` as `cqrs import` sends them (the same
client: streamed chunks, a bounded number in flight), beside the single-command rate of the same writer measured in
the same run by vegeta (Go: a Python client would measure itself), with the projections running and stopped, and
a rerun of the same file (every line replayed).

Scenarios, in this order so that no measurement pays for another's backlog:
1. projections running: single commands (vegeta), then the import; the projections' lag when it ends (as
   `cqrs projections status` reads it) and how long they take to drain it (bounded);
2. projections stopped (`cqrs stack down streams`, restarted at the end): single commands, the import, the rerun.

The writer is the stack's (`cqrs stack up writer`) unless `--url` names another; load generator, writer, Postgres,
Debezium and the projections share the machine's cores, so the figures are a floor and the ratios are the point.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from cqrs.bench.loadgen import AttackResult, Request, summarize_open_loop, vegeta_binary, write_json_targets
from cqrs.bench.report import report

SINGLE_CLIENTS = 8
"""Vegeta's connections for the single-command rate (the issue's reference: wrk with 8 connections)."""


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
    """Send `lines` in chunks, `parallel` requests at a time, keeping the writer's order ids (seeding for benches
    that need the ids; `cqrs bench import` itself measures the `cqrs import` client)."""
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


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    token: str


def single_commands(target: Target, seconds: float, work: Path) -> AttackResult:
    """create-order commands one request each (with an Idempotency-Key, as every import line has), as fast as
    `SINGLE_CLIENTS` connections get answers, for `seconds`."""
    run = uuid.uuid4().hex[:10]
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {target.token}"}

    def requests() -> Iterator[Request]:
        for n in range(int(seconds * 3_000)):  # more than the writer answers in `seconds`: the time ends the attack
            line = _create_order(run, n)
            body = json.dumps(line["body"]).encode()
            yield Request(
                "POST", "/commands/create-order", {**headers, "Idempotency-Key": line["idempotencyKey"]}, body
            )

    targets, results = work / f"single-{run}.json", work / f"single-{run}.bin"
    write_json_targets(targets, target.url, requests())
    argv = [
        str(vegeta_binary()), "attack", "-format=json", "-lazy", f"-targets={targets}", f"-output={results}",
        "-rate=0", f"-workers={SINGLE_CLIENTS}", f"-max-workers={SINGLE_CLIENTS}", f"-duration={seconds}s",
        "-timeout=30s", "-keepalive=true",
    ]  # fmt: skip
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    return summarize_open_loop(results)


async def import_file(target: Target, path: Path, chunk_lines: int, in_flight: int) -> dict[str, Any]:
    """The file through the `cqrs import` client: lines/s, and what became of the lines."""
    from writer.importer import import_lines

    headers = {"Authorization": f"Bearer {target.token}"}
    timeout = httpx.Timeout(30.0, read=None)
    async with httpx.AsyncClient(base_url=target.url, headers=headers, timeout=timeout) as client:
        summary = await import_lines(path, client, chunk_lines=chunk_lines, in_flight=in_flight)
    return {
        "lines": summary.lines,
        "applied": summary.accepted,
        "replayed": summary.replayed,
        "refused": len(summary.rejected),
        "seconds": round(summary.seconds, 2),
        "lines/s": round(summary.rate, 1),
    }


async def projection_lag() -> dict[str, int]:
    """Every projection's lag in events, as `cqrs projections status` counts it."""
    from cqrs.writer_cli import projection_lag as read

    return {lag.projection: lag.events for lag in await read() if lag.error is None}


async def drain_seconds(timeout_s: float) -> float | None:
    """Seconds until no projection lags (None: not within `timeout_s`)."""
    from cqrs.e2e.errors import LagUnknown
    from cqrs.e2e.lag import LagSampler
    from streams.settings import StreamsSettings

    started = time.monotonic()
    sampler = LagSampler(StreamsSettings())
    try:
        await sampler.__aenter__()
    except LagUnknown:  # a projection has no generation yet: nothing to wait for
        return None
    try:
        while time.monotonic() - started < timeout_s:
            if not any((await sampler.sample()).values()):
                return round(time.monotonic() - started, 1)
            await asyncio.sleep(1.0)
    finally:
        await sampler.__aexit__(None, None, None)
    return None


def relay_backlog_mib(database_url: str, slot: str) -> float | None:
    """WAL the relay (Debezium) has not confirmed yet: how far the relay is behind the writes."""
    import psycopg

    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn) FROM pg_replication_slots"
            " WHERE slot_name = %s",
            (slot,),
        ).fetchone()
    return None if row is None or row[0] is None else round(float(row[0]) / 2**20, 1)


def single_row(scenario: str, result: AttackResult) -> dict[str, Any]:
    accepted = sum(count for code, count in result.status_codes.items() if code == "202")
    return {
        "scenario": scenario,
        "lines": result.requests,
        "applied": accepted,
        "refused": result.requests - accepted,
        "lines/s": round(result.throughput, 1),
        "p99 ms": result.p99_ms,
    }


def run(
    orders: int,
    chunk_lines: int,
    in_flight: int,
    single_seconds: float,
    drain_timeout_s: float,
    url: str | None = None,
) -> None:
    from cqrs.apps import pipeline_stack
    from infra.settings import stack_settings
    from servicekit.principals import Role
    from servicekit.tokens import mint_token
    from writer.settings import WriterSettings

    settings = stack_settings()
    if url is None:
        pipeline_stack(settings, ["writer"]).up()
        url = f"http://127.0.0.1:{settings.ports.writer}"
    target = Target(
        url, mint_token(WriterSettings(), subject=f"bench-import-{uuid.uuid4().hex[:6]}", roles=[Role.STAFF])
    )
    orders_url = f"postgresql://postgres@127.0.0.1:{settings.ports.postgres}/orders"
    streams = pipeline_stack(settings, ["streams"])
    was_running = streams.status()[0].pid is not None
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)

        def import_of(scenario: str) -> dict[str, Any]:
            path = work / f"{scenario.replace(' ', '-')}.ndjson"
            if not path.exists():
                path.write_text("\n".join(batch_lines(uuid.uuid4().hex[:10], orders)) + "\n")
            return {"scenario": scenario, **asyncio.run(import_file(target, path, chunk_lines, in_flight))}

        try:
            streams.up()
            rows.append(single_row("single, projections running", single_commands(target, single_seconds, work)))
            running = import_of("import, projections running")
            running["relay backlog MiB"] = relay_backlog_mib(orders_url, WriterSettings().relay_slot)
            running |= {f"lag {name} (events)": lag for name, lag in asyncio.run(projection_lag()).items()}
            running["projections drained s"] = asyncio.run(drain_seconds(drain_timeout_s)) or f"> {drain_timeout_s:.0f}"
            rows.append(running)
            streams.down()
            single = single_row("single, projections stopped", single_commands(target, single_seconds, work))
            stopped = import_of("import, projections stopped")
            rerun = {**import_of("import, projections stopped"), "scenario": "rerun (all replayed)"}
        finally:
            if was_running:
                streams.up()
            else:
                streams.down()
    stopped["vs single"] = round(stopped["lines/s"] / max(single["lines/s"], 1e-9), 2)
    rerun["vs first run"] = round(rerun["lines/s"] / max(stopped["lines/s"], 1e-9), 2)
    running["vs single"] = round(running["lines/s"] / max(rows[0]["lines/s"], 1e-9), 2)
    rows += [single, stopped, rerun]
    report(
        "import",
        rows,
        {"orders": orders, "chunk_lines": chunk_lines, "in_flight": in_flight, "single_clients": SINGLE_CLIENTS,
         "single_seconds": single_seconds, "writer": url},
    )  # fmt: skip
