"""`cqrs bench writer --grpc`: the same command over HTTP and over gRPC against the same writer, in one run.

Both transports get the same closed loop from a Go generator (vegeta for HTTP, ghz for gRPC), one connection per
client: `create-order` with one line, as fast as answers come. The two runs follow each other on the same writer
processes and database, so their ratio is the transport's cost (JSON + HTTP/1.1 + FastAPI against protobuf + HTTP/2
+ grpc.aio); the command's own work (token, validation, transaction) is the same.
"""

from __future__ import annotations

import json
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


def compare(url: str, target: str, token: str, clients: int, seconds: float) -> list[dict[str, Any]]:
    """One row per transport: HTTP first, then gRPC with its rate as a multiple of HTTP's."""
    http = _http(url, token, clients, seconds)
    # protobuf's JSON mapping takes the same camelCase names as the HTTP body.
    metadata = {"authorization": f"Bearer {token}"}
    grpc = ghz.load(
        target, PROTO, METHOD, CREATE_ORDER, metadata, clients=clients, seconds=seconds, import_path=PROTO_ROOT
    )
    http_row = {
        "scenario": f"HTTP, {clients} clients",
        "generator": "vegeta",
        "commands": http["requests"],
        "refused": http["requests"] - http["accepted"],
        "commands/s": http["rate"],
        "p50 ms": http["p50_ms"],
        "p99 ms": http["p99_ms"],
    }
    grpc_row = {
        "scenario": f"gRPC, {clients} clients",
        "generator": "ghz",
        "commands": grpc.calls,
        "refused": grpc.calls - grpc.ok,
        "commands/s": grpc.rate,
        "p50 ms": grpc.p50_ms,
        "p99 ms": grpc.p99_ms,
        "commands/s vs HTTP": round(grpc.rate / http["rate"], 2) if http["rate"] else None,
    }
    return [http_row, grpc_row]


def _http(url: str, token: str, clients: int, seconds: float) -> dict[str, Any]:
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
