"""ClickHouse adapter (the chdb service over ClickHouse's HTTP interface; clickhouse-server in compose).

The sink appends fact rows (it keeps history: every event is a row), one INSERT per flush. It filters the batch
against the positions the table already has, so a redelivered event is never inserted twice: the materialized
views count every inserted row, and ReplacingMergeTree would only deduplicate the facts themselves, later. The
positions it has loaded or written itself it remembers (the worker owning a partition is the table's only writer
of its orders), so a flush asks the table only about orders it has not seen, and about those of a failed INSERT,
which may or may not have landed.
One statement per request and no sessions, as the HTTP service requires.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Collection
from typing import Any

import clickhouse_connect
from clickhouse_connect.driver.asyncclient import AsyncClient

from streams.contract import FACTS
from streams.errors import TargetError
from streams.lru import Lru
from streams.positions import Position
from streams.settings import StreamsSettings
from streams.sink import BatchingSink, Put, Stored, Targets
from streams.sinks.clickhouse_schema import (
    FACT_COLUMN_NAMES,
    POSITION_SQL,
    create_statements,
    drop_statements,
    physical,
    view_statements,
)


class ClickHouseSink(BatchingSink):
    keeps_history = True

    def __init__(
        self, connect: Callable[[], Awaitable[AsyncClient]], database: str, table: str, *, remember: int = 200_000
    ) -> None:
        super().__init__()
        self._connect = connect
        self._database = database
        self._table = table
        self._known: Lru[Position] = Lru(remember)
        """The highest position in the table per order, as this sink last read or wrote it."""

    async def load(self, keys: Collection[str]) -> dict[str, Stored]:
        if not keys:
            return {}
        client = await self._connect()
        result = await client.query(
            f"SELECT {', '.join(FACT_COLUMN_NAMES)} FROM {self._database}.{self._table} "
            "WHERE aggregate_id IN {keys:Array(String)} "
            "ORDER BY aggregate_id, version DESC, sequence DESC LIMIT 1 BY aggregate_id",
            parameters={"keys": list(keys)},
            tz_mode="schema",  # the columns are DateTime64(3, 'UTC'): give them back timezone-aware, as written
        )
        stored = {}
        for row in result.named_results():
            stored[row["aggregate_id"]] = Stored(Position(row["version"], row["sequence"]), row)
        self._known.put_all({key: stored[key].position if key in stored else _NOTHING for key in keys})
        return stored

    async def write(self, puts: list[Put]) -> None:
        keys = {put.key for put in puts}
        applied = self._known.of(keys)
        applied |= await self._positions(keys - applied.keys())
        rows, written = [], dict(applied)
        for put in puts:
            if put.position <= written.get(put.key, _NOTHING):
                continue
            row = {**put.document, "aggregate_id": put.key, "version": put.position.version}
            row["sequence"] = put.position.sequence
            rows.append([row[name] for name in FACT_COLUMN_NAMES])
            written[put.key] = put.position
        if not rows:
            return
        try:
            client = await self._connect()
            await client.insert(self._table, rows, database=self._database, column_names=FACT_COLUMN_NAMES)
        except BaseException:
            self._known.forget(keys)  # the INSERT may have landed: ask the table next time
            raise
        self._known.put_all(written)

    async def _positions(self, keys: set[str]) -> dict[str, Position]:
        if not keys:
            return {}
        client = await self._connect()
        result = await client.query(
            f"SELECT aggregate_id, max({POSITION_SQL}) FROM {self._database}.{self._table} "
            "WHERE aggregate_id IN {keys:Array(String)} GROUP BY aggregate_id",
            parameters={"keys": list(keys)},
        )
        found = {key: Position.unpack(packed) for key, packed in result.result_rows}
        return {key: found.get(key, _NOTHING) for key in keys}

    async def count(self) -> int:
        client = await self._connect()
        result = await client.query(f"SELECT uniqExact(aggregate_id) FROM {self._database}.{self._table}")
        return int(result.result_rows[0][0])


_NOTHING = Position(0, 0)
"""The position of an order the table has no row of."""


class ClickHouseTargets(Targets):
    store = "clickhouse"

    def __init__(self, settings: StreamsSettings) -> None:
        self._settings = settings
        self._database = settings.clickhouse_database
        self._client: AsyncClient | None = None
        self._pattern = re.compile(rf"{re.escape(self._database)}\.{FACTS}_v(\d+)\b")

    @classmethod
    def connect(cls, settings: StreamsSettings) -> ClickHouseTargets:
        # The async client connects on first use (it needs a running loop); see `_connected`.
        return cls(settings)

    async def _connected(self) -> AsyncClient:
        if self._client is None:
            self._client = await clickhouse_connect.get_async_client(
                host=self._settings.clickhouse_server,
                port=self._settings.ports.clickhouse,
                username=self._settings.clickhouse_user,
                password=self._settings.clickhouse_password.get_secret_value(),
            )
            await self._client.command(f"CREATE DATABASE IF NOT EXISTS {self._database}")
        return self._client

    def describe(self, generation: int) -> str:
        return f"tables {self._database}.*_v{generation} (views {self._database}.{FACTS}, …)"

    async def active(self) -> int | None:
        client = await self._connected()
        result = await client.query(
            "SELECT create_table_query FROM system.tables WHERE database = {db:String} AND name = {name:String}",
            parameters={"db": self._database, "name": FACTS},
        )
        if not result.result_rows:
            return None
        match = self._pattern.search(result.result_rows[0][0])
        return int(match[1]) if match else None

    async def generations(self) -> list[int]:
        client = await self._connected()
        result = await client.query(
            "SELECT name FROM system.tables WHERE database = {db:String} AND match(name, {pattern:String})",
            parameters={"db": self._database, "pattern": f"^{FACTS}_v[0-9]+$"},
        )
        return sorted(int(name.rsplit("_v", 1)[1]) for (name,) in result.result_rows)

    async def create(self, generation: int) -> None:
        client = await self._connected()
        for statement in create_statements(self._database, generation):
            await client.command(statement)

    async def switch(self, generation: int) -> None:
        if generation not in await self.generations():
            raise TargetError(f"cannot switch to missing {self.describe(generation)}")
        client = await self._connected()
        for statement in view_statements(self._database, generation):
            await client.command(statement)

    async def drop(self, generation: int) -> None:
        if generation == await self.active():
            raise TargetError(f"refusing to drop the active {self.describe(generation)}")
        client = await self._connected()
        for statement in drop_statements(self._database, generation):
            await client.command(statement)

    def sink(self, generation: int, *, bulk: bool = False) -> ClickHouseSink:
        return ClickHouseSink(self._connected, self._database, physical(FACTS, generation))

    async def query(self, sql: str, parameters: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a read query with the writer's client (tests, status)."""
        client = await self._connected()
        return [tuple(row) for row in (await client.query(sql, parameters=parameters)).result_rows]

    async def insert_facts(self, generation: int, rows: list[dict[str, Any]]) -> None:
        """Insert fact rows as they are, without the sink's position check (benchmarks of the raw insert)."""
        client = await self._connected()
        await client.insert(
            physical(FACTS, generation),
            [[row[name] for name in FACT_COLUMN_NAMES] for row in rows],
            database=self._database,
            column_names=FACT_COLUMN_NAMES,
        )

    async def drop_everything(self) -> None:
        """Remove the whole database (tests)."""
        client = await self._connected()
        await client.command(f"DROP DATABASE IF EXISTS {self._database}")

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None
