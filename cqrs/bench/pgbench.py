"""The writer bench's same-run ceiling: PostgreSQL's pgbench running the writer's own transaction of a `create-order`.

The statement and its parameters are the writer's, not a copy: the real `CommandHandler` and `PostgresCommandStore`
decide and build a create-order (the body `cqrs.bench.writer_grpc.CREATE_ORDER`, as the HTTP route validates it)
against a connection that records what it is asked to execute instead of sending it. psycopg renders that statement
with its parameters as literals; the ids every transaction must have of its own (order, events, command) become
`md5(...)::uuid` of pgbench variables, so each transaction inserts a new order as the writer's would. pgbench then runs
it with the same number of clients, against the same database as the writer, in the simple protocol (one round trip,
as the writer's single-statement create is).
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from uuid import uuid4

import psycopg

from infra.services.postgres import BIN_DIR
from servicekit.principals import Principal, Role
from writer.batch.commands import KINDS
from writer.handlers import CommandContext, CommandHandler
from writer.postgres import PostgresCommandStore
from writer.postgres.store import Pool

_UUID = r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}"  # psycopg writes uuids without dashes
_QUOTED_UUID = re.compile(rf"'({_UUID})'::uuid")
_UUID_ARRAY = re.compile(rf"'\{{((?:{_UUID},?)+)\}}'::uuid\[\]")
_BINARY_PLACEHOLDER = re.compile(r"%\((\w+)\)b")
_LATENCY = re.compile(r"latency average = ([0-9.]+) ms")
_FAILED = re.compile(r"number of failed transactions: ([0-9]+)")
_PROCESSED = re.compile(r"number of transactions actually processed: ([0-9]+)")
_RATE = re.compile(r"tps = ([0-9.]+) \(without initial connection time\)")


@dataclass(frozen=True, slots=True)
class PgbenchResult:
    transactions: int
    transactions_per_s: float
    latency_avg_ms: float
    p50_ms: float
    p99_ms: float
    failed: int


class _Recorder:
    """Stands for a pooled connection: keeps the statement and parameters it is given, sends nothing."""

    def __init__(self) -> None:
        self.executed: list[tuple[str, dict[str, Any]]] = []

    async def execute(self, query: str, params: dict[str, Any]) -> None:
        self.executed.append((query, params))

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[_Recorder]:
        yield self


async def _writers_statement(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    recorder = _Recorder()
    handler = CommandHandler(PostgresCommandStore(cast(Pool, recorder)))
    kind = KINDS["create-order"]
    principal = Principal(subject="bench", roles=frozenset({Role.STAFF}))
    context = CommandContext(principal=principal, command_id=uuid4(), correlation_id=str(uuid4()))
    await handler.handle(kind.build(kind.body.model_validate(body)), context)
    (statement,) = recorder.executed
    return statement


def script(database_url: str, body: dict[str, Any]) -> str:
    """The pgbench script of the writer's create-order transaction, with fresh ids per transaction."""
    query, params = asyncio.run(_writers_statement(body))
    query = _BINARY_PLACEHOLDER.sub(r"%(\1)s", query)  # rendered as literals, binary parameters are text ones
    with psycopg.connect(database_url) as conn:
        rendered = psycopg.ClientCursor(conn).mogrify(query, params)
    ids: dict[str, str] = {}

    def fresh(uuid: str) -> str:
        name = ids.setdefault(uuid, f"id{len(ids)}")
        return f"md5(:n || '{name}')::uuid"

    rendered = _UUID_ARRAY.sub(
        lambda m: "ARRAY[" + ", ".join(fresh(u) for u in m.group(1).split(",")) + "]::uuid[]", rendered
    )
    rendered = _QUOTED_UUID.sub(lambda m: fresh(m.group(1)), rendered)
    # pgbench sends the script line by line unless told otherwise: one statement, one line.
    one_line = " ".join(
        line.strip() for line in rendered.splitlines() if line.strip() and not line.strip().startswith("--")
    )
    return "\\set n random(1, 9007199254740991)\n" + one_line + ";\n"


def run(database_url: str, body: dict[str, Any], *, clients: int, seconds: float) -> PgbenchResult:
    """pgbench with the writer's transaction: `clients` connections, two threads (the machine's cores), `seconds`."""
    with tempfile.TemporaryDirectory() as work:
        script_file = Path(work) / "create-order.sql"
        script_file.write_text(script(database_url, body))
        log_prefix = Path(work) / "log"
        argv = [
            str(BIN_DIR / "pgbench"), "--no-vacuum", "--protocol=simple", f"--client={clients}", "--jobs=2",
            f"--time={max(int(seconds), 1)}", f"--file={script_file}", "--log", f"--log-prefix={log_prefix}",
            database_url,
        ]  # fmt: skip
        done = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise RuntimeError(f"pgbench failed ({done.returncode}):\n{done.stderr[-2000:]}")
        latencies = sorted(_logged_latencies_ms(Path(work)))
    rate, average = _RATE.search(done.stdout), _LATENCY.search(done.stdout)
    if rate is None or average is None or not latencies:
        raise RuntimeError(f"pgbench printed no figures:\n{done.stdout}\n{done.stderr}")
    failed = _FAILED.search(done.stdout)
    processed = _PROCESSED.search(done.stdout)
    return PgbenchResult(
        transactions=int(processed.group(1)) if processed else len(latencies),
        transactions_per_s=float(rate.group(1)),
        latency_avg_ms=float(average.group(1)),
        p50_ms=round(latencies[len(latencies) // 2], 2),
        p99_ms=round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 2),
        failed=int(failed.group(1)) if failed else 0,
    )


def _logged_latencies_ms(folder: Path) -> list[float]:
    """Per-transaction latencies from pgbench's logs (`client tx latency_us script epoch epoch_us` per line)."""
    return [
        int(fields[2]) / 1000
        for log in folder.glob("log.*")
        for line in log.read_text().splitlines()
        if len(fields := line.split()) >= 3
    ]
