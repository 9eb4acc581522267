"""`cqrs bench writer --grpc`: the same command over HTTP and over gRPC against the same writer, in one run.

Both transports get the same closed loop from a Go generator (vegeta for HTTP, ghz for gRPC), one connection per
client: `create-order` with one line, as fast as answers come. Rounds alternate on the same writer processes and
database, so the ratio is the transport's cost (JSON + HTTP/1.1 + FastAPI against protobuf + HTTP/2 + grpc.aio);
the command's own work (token, validation, transaction) is the same.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from cqrs.bench import ghz
from cqrs.bench.loadgen import Request, summarize, vegeta_binary, write_json_targets
from writer.grpc.codegen import PROTO_ROOT

CREATE_ORDER = {
    "customerId": "bench-writer",
    "currency": "EUR",
    "items": [{"sku": "BENCH-1", "name": "Bench item", "quantity": 1, "unitPrice": "9.99"}],
}
METHOD = "cqrs.orders.v1.OrderCommands/CreateOrder"
PROTO = PROTO_ROOT / "orders" / "v1" / "commands.proto"


def compare(url: str, target: str, token: str, clients: int, seconds: float, rounds: int = 3) -> list[dict[str, Any]]:
    """One row per transport, from `rounds` alternating runs of `seconds` each (HTTP, gRPC, HTTP, …): each figure is
    the median over the rounds, and gRPC's rate is the median of its per-round multiple of HTTP's, so load that drifts
    during the run (a shared machine) touches both transports alike."""
    metadata = {"authorization": f"Bearer {token}"}
    http_runs, grpc_runs = [], []
    for _ in range(rounds):
        http_runs.append(http_create_orders(url, token, clients, seconds))
        # protobuf's JSON mapping takes the same camelCase names as the HTTP body.
        grpc = ghz.load(
            target, PROTO, METHOD, CREATE_ORDER, metadata, clients=clients, seconds=seconds, import_path=PROTO_ROOT
        )
        grpc_runs.append({"requests": grpc.calls, "accepted": grpc.ok, "rate": grpc.rate, "p50_ms": grpc.p50_ms,
                          "p99_ms": grpc.p99_ms})  # fmt: skip
    ratios = [g["rate"] / h["rate"] for h, g in zip(http_runs, grpc_runs, strict=True) if h["rate"]]
    http_row = median_row(f"HTTP, {clients} clients", "vegeta", http_runs)
    grpc_row = median_row(f"gRPC, {clients} clients", "ghz", grpc_runs)
    grpc_row["commands/s vs HTTP"] = round(statistics.median(ratios), 2) if ratios else None
    return [http_row, grpc_row]


def median_row(scenario: str, generator: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "scenario": scenario,
        "generator": generator,
        "commands": sum(run["requests"] for run in runs),
        "refused": sum(run["requests"] - run["accepted"] for run in runs),
        "commands/s": round(statistics.median(run["rate"] for run in runs), 1),
        "p50 ms": round(statistics.median(run["p50_ms"] for run in runs), 2),
        "p99 ms": round(statistics.median(run["p99_ms"] for run in runs), 2),
    }


def http_create_orders(url: str, token: str, clients: int, seconds: float) -> dict[str, Any]:
    """vegeta's closed loop on `POST /commands/create-order` (the one target, sent again and again)."""
    with tempfile.TemporaryDirectory() as work:
        targets, results = Path(work) / "targets.json", Path(work) / "results.bin"
        body = json.dumps(CREATE_ORDER).encode()
        headers = {"Content-Type": "application/json"}
        write_json_targets(targets, url, [Request("POST", "/commands/create-order", headers, body)])
        argv = [
            str(vegeta_binary()), "attack", "-format=json", f"-targets={targets}", "-rate=0",
            f"-workers={clients}", f"-max-workers={clients}", f"-duration={seconds}s", "-timeout=30s",
            "-keepalive=true", f"-header=Authorization: Bearer {token}", f"-output={results}",
        ]  # fmt: skip
        subprocess.run(argv, stdin=subprocess.DEVNULL, check=True)
        result = summarize(results)
    return {
        "requests": result.requests,
        "accepted": result.status_codes.get("202", 0),
        "rate": result.rate,
        "p50_ms": result.p50_ms,
        "p99_ms": result.p99_ms,
    }
