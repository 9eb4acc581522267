"""ClickHouse adapter (the chdb service over ClickHouse's HTTP interface; clickhouse-server in compose).

The sink appends fact rows (it keeps history: every event is a row), one INSERT per flush. An event must never be
inserted twice: the materialized views count every inserted row, and ReplacingMergeTree would only deduplicate the
facts themselves, later. So the insert is guarded: the batch goes into the sink's own staging table (a Memory
table, `<facts>_incoming_<id>`, native format), and one `INSERT … SELECT` moves the rows above the highest position
the facts hold per order into the facts; the rest are left out. A redelivered batch, or a stale worker's batch (one
whose partitions moved to another worker while it was paused), inserts nothing the table already has, and nothing
below what the new owner wrote. The check and the insert are one statement: the chdb service runs statements one
at a time, so nothing comes between them (on a clickhouse-server the window is one statement's run, and the
worker's lease keeps a stale worker from sending it at all, `streams.ownership`). A staging table left behind by a
killed worker is empty after a server restart (Memory) and dropped with its generation.

The sink also remembers the positions it loaded or wrote (`KnownPositions`) and leaves out rows below them, which
keeps the batch small; the guard, not the memory, is what decides. A rebuild target (`bulk=True`) has one writer,
the rebuild, and takes plain native INSERTs of the rows above what the table holds (asked for unknown orders).
One statement per request and no sessions, as the HTTP service requires.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Collection
from typing import Any

import clickhouse_connect
from clickhouse_connect.driver.asyncclient import AsyncClient

from streams.contract import FACTS
from streams.errors import TargetError
from streams.positions import Position
from streams.settings import StreamsSettings
from streams.sink import BatchingSink, Put, Stored, Targets
from streams.sinks.clickhouse_schema import (
    FACT_COLUMN_NAMES,
    FACT_COLUMNS,
    POSITION_SQL,
    create_statements,
    drop_statements,
    physical,
    view_statements,
)
from streams.sinks.known import NOTHING, KnownPositions


class ClickHouseSink(BatchingSink):
    keeps_history = True

    def __init__(
        self,
        connect: Callable[[], Awaitable[AsyncClient]],
        database: str,
        table: str,
        *,
        remember: int = 200_000,
        bulk: bool = False,
    ) -> None:
        super().__init__()
        self._connect = connect
        self._database = database
        self._table = table
        self._bulk = bulk
        self._known = KnownPositions(remember)
        """The highest position in the table per order, as this sink last read or wrote it."""
        self._staging = staging_name(table)
        self._staged = False

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
        self._known.loaded(keys, {key: value.position for key, value in stored.items()})
        return stored

    def forget(self) -> None:
        self._known.forget()

    async def write(self, puts: list[Put]) -> None:
        keys = {put.key for put in puts}
        applied = self._known.of(keys)
        if self._bulk:
            applied |= await self._positions(keys - applied.keys())
        rows, written = [], dict(applied)
        for put in puts:
            if put.position <= written.get(put.key, NOTHING):
                continue
            row = {**put.document, "aggregate_id": put.key, "version": put.position.version}
            row["sequence"] = put.position.sequence
            rows.append(row)
            written[put.key] = put.position
        if not rows:
            return
        values = [[row[name] for name in FACT_COLUMN_NAMES] for row in rows]
        try:
            client = await self._connect()
            if self._bulk:
                self.guard()
                await client.insert(self._table, values, database=self._database, column_names=FACT_COLUMN_NAMES)
            else:
                await self._insert_guarded(client, values)
        except BaseException:
            self._known.forget(keys)  # the INSERT may have landed: ask the table next time
            raise
        self._known.wrote(written)  # at most what the table holds: a row the guard left out was below it

    async def _insert_guarded(self, client: AsyncClient, values: list[list[Any]]) -> None:
        staging = f"{self._database}.{self._staging}"
        if not self._staged:
            await client.command(f"CREATE TABLE IF NOT EXISTS {staging} ({FACT_COLUMNS_SQL}) ENGINE = Memory")
            self._staged = True
        await client.command(f"TRUNCATE TABLE {staging}")  # what a failed attempt may have left
        await client.insert(self._staging, values, database=self._database, column_names=FACT_COLUMN_NAMES)
        self.guard()
        await client.command(guarded_insert(f"{self._database}.{self._table}", staging))

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
        return {key: found.get(key, NOTHING) for key in keys}

    async def count(self) -> int:
        client = await self._connect()
        result = await client.query(f"SELECT uniqExact(aggregate_id) FROM {self._database}.{self._table}")
        return int(result.result_rows[0][0])


FACT_COLUMNS_SQL = ", ".join(f"{name} {kind}" for name, kind in FACT_COLUMNS)
STAGING = "_incoming_"


def staging_name(table: str) -> str:
    """A staging table of one sink (one writer), beside the facts table it feeds."""
    return f"{table}{STAGING}{uuid.uuid4().hex[:12]}"


def guarded_insert(table: str, staging: str) -> str:
    """One statement: the staged rows above the highest position `table` holds for their order (a missing order
    joins as 0) are inserted; the rest are left out."""
    columns = ", ".join(FACT_COLUMN_NAMES)
    incoming = ", ".join(f"incoming.{name}" for name in FACT_COLUMN_NAMES)
    position = POSITION_SQL.replace("version", "incoming.version").replace("sequence", "incoming.sequence")
    return (
        f"INSERT INTO {table} ({columns}) SELECT {incoming} FROM {staging} AS incoming "
        f"LEFT JOIN (SELECT aggregate_id, max({POSITION_SQL}) AS stored FROM {table} "
        f"WHERE aggregate_id IN (SELECT aggregate_id FROM {staging}) GROUP BY aggregate_id) AS held "
        f"ON incoming.aggregate_id = held.aggregate_id WHERE {position} > held.stored"
    )


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
                # Beside the service, compression costs more CPU than it saves (infra/clickhouse/README.md).
                compress=False,
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
        for table in await self.staging_tables(generation):
            await client.command(f"DROP TABLE IF EXISTS {self._database}.{table}")

    async def staging_tables(self, generation: int) -> list[str]:
        """The sinks' staging tables of a generation (live or left behind by killed workers)."""
        rows = await self.query(
            "SELECT name FROM system.tables WHERE database = {db:String} AND startsWith(name, {stem:String})",
            {"db": self._database, "stem": f"{physical(FACTS, generation)}{STAGING}"},
        )
        return [name for (name,) in rows]

    def sink(self, generation: int, *, bulk: bool = False) -> ClickHouseSink:
        return ClickHouseSink(self._connected, self._database, physical(FACTS, generation), bulk=bulk)

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
