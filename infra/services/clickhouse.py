"""ClickHouse's engine (chdb) owned by one service process that speaks ClickHouse's HTTP interface.

A chdb data dir can be open in one process only; this process owns it, and the streams worker, the read API and
analysts all reach it with clickhouse-connect over HTTP, exactly as they would reach a clickhouse-server."""

from __future__ import annotations

import sys
from importlib.metadata import version
from pathlib import Path

import httpx

from infra.clickhouse.credentials import ensure
from infra.services.base import Service


class ClickHouse(Service):
    name = "clickhouse"
    version = f"chdb {version('chdb')}"

    @property
    def port(self) -> int:
        return self.settings.ports.clickhouse

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def users_file(self) -> Path:
        return self.settings.clickhouse_users_file

    def install(self) -> None:
        """chdb is a Python dependency of the project: nothing to fetch. The users' passwords are generated here
        (once per stack, see infra/clickhouse/credentials.py), so the clients can read them before the first start."""
        ensure(self.users_file)

    def prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        ensure(self.users_file)

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "infra.clickhouse.server",
            "--data-dir", str(self.data_dir), "--host", "127.0.0.1", "--port", str(self.port),
            "--users-file", str(self.users_file),
        ]  # fmt: skip

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/ping", timeout=3).text.strip() == "Ok."
        except httpx.HTTPError:
            return False
