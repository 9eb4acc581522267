"""The real server: `python -m writer.cli serve` with two uvicorn workers, spoken to over TCP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from servicekit.principals import Role
from tests.servers import served
from tests.writer.helpers import bearer, new_order
from writer.settings import WriterSettings


@dataclass(frozen=True)
class Server:
    url: str
    log: Path


@pytest.fixture
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {
        **os.environ,
        "CQRS_WRITER_DATABASE_URL": database_url,
        "CQRS_WRITER_POOL_MIN_SIZE": "1",
        "CQRS_WRITER_POOL_MAX_SIZE": "4",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path_factory.mktemp("metrics")),
    }
    log = tmp_path_factory.mktemp("server") / "server.log"
    with served(["writer.cli", "serve", "--workers", "2"], env=env, log=log) as url:
        yield Server(url, log)


async def test_the_served_api_accepts_commands_and_reports_metrics_of_all_workers(
    server: Server, settings: WriterSettings, db: psycopg.AsyncConnection
) -> None:
    headers = {"Authorization": bearer(settings, Role.STAFF, "staff-1"), "X-Correlation-ID": "over-tcp"}
    async with httpx.AsyncClient(base_url=server.url) as client:
        accepted = [await client.post("/orders", json=new_order(), headers=headers) for _ in range(6)]
        assert {response.status_code for response in accepted} == {202}
        assert accepted[0].headers["x-correlation-id"] == "over-tcp"
        problem = await client.post("/orders", content=b"{", headers={**headers, "Content-Type": "application/json"})
        assert problem.status_code == 400
        assert problem.headers["content-type"] == "application/problem+json"
        too_large = await client.post("/orders", content=b"x" * 200_000, headers=headers)
        assert too_large.status_code == 413
        metrics = (await client.get("/metrics")).text
    samples = [line for line in metrics.splitlines() if line.startswith("writer_commands_total{")]
    accepted_sample = next(line for line in samples if 'command="create-order"' in line and "accepted" in line)
    assert float(accepted_sample.rsplit(" ", 1)[1]) == 6.0, "every worker's counts are aggregated"
    cursor = await db.execute("SELECT count(*) FROM orders")
    assert await cursor.fetchone() == (6,)
    logged = [json.loads(line) for line in server.log.read_text().splitlines() if line.startswith("{")]
    accepted_lines = [entry for entry in logged if entry.get("event") == "command.accepted"]
    assert {entry["causationId"] for entry in accepted_lines} == {r.json()["commandId"] for r in accepted}
    assert {entry["correlationId"] for entry in accepted_lines} == {"over-tcp"}
    assert all(entry["command"] == "create-order" and entry["level"] == "info" for entry in accepted_lines)


def test_the_token_command_prints_a_token_the_api_accepts(settings: WriterSettings) -> None:
    from servicekit.tokens import verify_token

    result = subprocess.run(
        [sys.executable, "-m", "writer.cli", "token", "--role", "customer", "--subject", "alice", "--ttl", "60"],
        capture_output=True,
        text=True,
        check=True,
    )
    principal = verify_token(settings, result.stdout.strip())
    assert principal.subject == "alice"
    assert principal.roles == {Role.CUSTOMER}
