"""The official ClickHouse clients, each with its defaults, as the read-only `analyst` against the stack's ClickHouse
service: the JDBC driver (what DBeaver and other JDBC tools load), the Go driver over HTTP (what Grafana's
ClickHouse data source is built on) and clickhouse-connect (Superset's driver).

The analytics views of a sandbox database are filled by the real analytics projection from known order histories,
so what every client must read is known: the events of one currency from a given time on (bound parameters), the
daily revenue of that currency, the sandbox's tables and a view's columns (metadata); DDL and writes are refused by
the engine (164 READONLY). The clients must agree with the histories and with each other.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import clickhouse_connect
import pytest
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError

from infra.clickhouse.credentials import stack_credentials
from infra.stack import Stack
from streams.projections.analytics import AnalyticsProjection
from streams.sandbox import remove
from streams.settings import StreamsSettings
from tests.infra.clickhouse_compat.clients import go_program, java_argv, jdbc_program, run_json
from tests.readapi.seed import varied_histories
from tests.streams.conftest import create_topics, unique_settings
from tests.streams.history import START, History
from tests.streams.pipeline import produce, run_until_caught_up

CURRENCY = "EUR"
SINCE = START + timedelta(days=2)
READONLY = 164
# The same queries as the Java and Go programs, with clickhouse-connect's server-side bind parameters.
EVENTS_SQL = (
    "SELECT event_id, event_type, aggregate_id, version, event_time, status, total, item_skus FROM order_events "
    "WHERE currency = {currency:String} AND event_time >= {since:DateTime64(3)} "
    "ORDER BY aggregate_id, version, sequence"
)
REVENUE_SQL = (
    "SELECT day, status, currency, orders, revenue FROM daily_revenue WHERE currency = {currency:String} "
    "ORDER BY day, status"
)
TABLES_SQL = "SELECT name, engine FROM system.tables WHERE database = {database:String} ORDER BY name"
DDL_SQL = "CREATE TABLE compat_probe (x UInt8) ENGINE = Memory"
# Columns of many types over two blocks (UNION ALL): the Go driver reads Native re-framed for its protocol revision,
# which only works if the server finds where every column's data ends (infra/clickhouse/native_format.py).
_PROBE_COLUMNS = """if(number % 2 = 0, NULL, toString(number)) AS nullable_text,
    CAST([toString(number), NULL], 'Array(LowCardinality(Nullable(String)))') AS lc_array, map('k', number) AS kv,
    tuple(toInt32(number), toString(number)) AS pair, toFixedString('ab', 2) AS fixed,
    CAST('b', 'Enum8(\\'a\\' = 1, \\'b\\' = 2)') AS enum, toDecimal32(number / 8, 3) AS dec32,
    toDecimal128(number, 4) AS dec128, toIPv4('10.0.0.1') AS ip4, toIPv6('::1') AS ip6,
    toDate32('2020-01-01') AS day32, toDateTime('2020-01-01 00:00:00', 'Europe/Berlin') AS berlin,
    toFloat32(number) AS f32, toLowCardinality(toString(number % 3)) AS lc, [[toUInt8(number)], []] AS nested,
    CAST(number, 'Nullable(Decimal(18, 2))') AS maybe_money, toInt128(number) AS i128,
    CAST((1.5, 2.5), 'Point') AS point, concat('row-', toString(number)) AS marker"""
PROBE_SQL = f"SELECT {_PROBE_COLUMNS} FROM numbers(4) UNION ALL SELECT {_PROBE_COLUMNS} FROM numbers(4, 4)"
# nullable_text, lc_array, kv, enum, dec32, lc, marker: compared cell by cell with clickhouse-connect's reading.
PROBE_COMPARED = (0, 1, 2, 5, 6, 13, 18)


@dataclass(frozen=True, slots=True)
class Sandbox:
    port: int
    database: str
    password: str
    histories: list[History]
    write_table: str  # a table behind a view, which the refused inserts target


@pytest.fixture(scope="module")
async def sandbox(stack: Stack) -> AsyncIterator[Sandbox]:
    credentials = stack_credentials()
    assert credentials is not None, "the stack has no ClickHouse users file"
    streams = unique_settings(stack)
    histories = varied_histories(24)
    await create_topics(streams)
    try:
        await produce(streams, [event for history in histories for event in history.events])
        await run_until_caught_up(streams, AnalyticsProjection.name)
        yield Sandbox(
            port=stack.settings.ports.clickhouse,
            database=streams.clickhouse_database,
            password=credentials.analyst_password.get_secret_value(),
            histories=histories,
            write_table=await _table_behind(streams, "order_events"),
        )
    finally:
        await remove(streams)


async def _table_behind(streams: StreamsSettings, view: str) -> str:
    def lookup() -> str:
        client = _connect_writer(streams)
        try:
            rows = client.query(
                "SELECT name FROM system.tables WHERE database = {db:String} AND name LIKE {prefix:String} "
                "AND engine LIKE '%MergeTree'",
                parameters={"db": streams.clickhouse_database, "prefix": f"{view}_v%"},
            ).result_rows
        finally:
            client.close()
        assert rows, f"no table behind {view}"
        return str(rows[0][0])

    return await asyncio.to_thread(lookup)


def _connect_writer(streams: StreamsSettings) -> Client:
    return clickhouse_connect.get_client(
        host=streams.clickhouse_server,
        port=streams.ports.clickhouse,
        username=streams.clickhouse_user,
        password=streams.clickhouse_password.get_secret_value(),
    )


@pytest.fixture(scope="module")
def analyst(sandbox: Sandbox) -> Iterator[Client]:
    """clickhouse-connect with its defaults (lz4 request compression, Native reads), as Superset connects."""
    client = clickhouse_connect.get_client(
        host="127.0.0.1", port=sandbox.port, username="analyst", password=sandbox.password, database=sandbox.database
    )
    yield client
    client.close()


def neutral(value: Any) -> Any:
    """The form the Java and Go programs print: decimals and integers as text (fixed scale), instants as epoch
    milliseconds, days as ISO dates, UUIDs as text, arrays as lists."""
    if isinstance(value, bool) or value is None or isinstance(value, (str, float)):
        return value
    if isinstance(value, (int, Decimal, UUID)):
        return str(value)
    if isinstance(value, datetime):
        return round(value.timestamp() * 1000)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [neutral(item) for item in value]
    raise TypeError(f"no neutral form for {type(value).__name__}")


def expected_event_keys(histories: list[History]) -> list[list[Any]]:
    """(event_id, event_type, aggregate_id, version, event_time) of what the events query must return, from the
    histories themselves."""
    events = [
        event
        for history in histories
        if history.currency == CURRENCY
        for event in history.events
        if event.timestamp >= SINCE
    ]
    events.sort(key=lambda event: (event.aggregate_id, event.version, event.sequence))
    return [
        [str(e.event_id), e.event_type, e.aggregate_id, str(e.version), round(e.timestamp.timestamp() * 1000)]
        for e in events
    ]


@dataclass(frozen=True, slots=True)
class Expected:
    events: list[list[Any]]
    revenue: list[list[Any]]
    tables: list[list[Any]]
    columns: list[list[Any]]


@pytest.fixture(scope="module")
def connect_report(analyst: Client, sandbox: Sandbox) -> dict[str, Any]:
    """What clickhouse-connect reads and how it is refused, in the programs' form."""
    params = {"currency": CURRENCY, "since": SINCE.replace(tzinfo=None)}
    events = analyst.query(EVENTS_SQL, parameters=params)
    tables = analyst.query(TABLES_SQL, parameters={"database": sandbox.database})
    report: dict[str, Any] = {
        "server": analyst.server_version,
        "events": [neutral(list(row)) for row in events.result_rows],
        "revenue": [neutral(list(row)) for row in analyst.query(REVENUE_SQL, parameters=params).result_rows],
        "tables": [list(row) for row in tables.result_rows],
        "columns": [[row[0], row[1]] for row in analyst.query("DESCRIBE TABLE order_events").result_rows],
        "databases": sorted(row[0] for row in analyst.query("SHOW DATABASES").result_rows),
        "primary_key": sorted(
            row[0]
            for row in analyst.query(
                "SELECT name FROM system.columns WHERE database = {db:String} AND table = {table:String} "
                "AND is_in_primary_key",
                parameters={"db": sandbox.database, "table": sandbox.write_table},
            ).result_rows
        ),
    }
    with pytest.raises(DatabaseError) as ddl:
        analyst.command(DDL_SQL)
    with pytest.raises(DatabaseError) as write:
        analyst.insert(sandbox.write_table, [["compat-probe"]], column_names=["aggregate_id"])
    for name, refused in (("ddl", ddl.value), ("write", write.value)):
        report[name] = {"code": getattr(refused, "code", None), "message": str(refused)}
    report["probe"] = probe_cells([list(row) for row in analyst.query(PROBE_SQL).result_rows])
    return report


def probe_cells(rows: list[list[Any]]) -> list[list[Any]]:
    """The compared probe columns, in marker order (UNION ALL blocks come in any order)."""
    cells = [
        [str(cell) if isinstance(cell, Decimal) else cell for cell in (row[i] for i in PROBE_COMPARED)] for row in rows
    ]
    return sorted(cells, key=lambda row: str(row[-1]))


@pytest.fixture(scope="module")
def expected(connect_report: dict[str, Any], sandbox: Sandbox) -> Expected:
    keys = expected_event_keys(sandbox.histories)
    assert keys, "the seeded histories hold no event of the queried currency and time range"
    assert [row[:5] for row in connect_report["events"]] == keys
    assert connect_report["revenue"], "the daily revenue of the seeded currency is empty"
    table_names = {row[0] for row in connect_report["tables"]}
    assert {"order_events", "daily_revenue", sandbox.write_table} <= table_names
    return Expected(
        connect_report["events"], connect_report["revenue"], connect_report["tables"], connect_report["columns"]
    )


def assert_refused(report: dict[str, Any]) -> None:
    for action in ("ddl", "write"):
        assert report[action]["code"] == READONLY, report[action]
        assert "readonly" in report[action]["message"].lower(), report[action]


def test_clickhouse_connect_reads_the_views_and_is_refused_writes(
    connect_report: dict[str, Any], expected: Expected
) -> None:
    assert connect_report["events"] == expected.events
    assert_refused(connect_report)


def test_jdbc_driver_with_its_defaults(sandbox: Sandbox, expected: Expected, connect_report: dict[str, Any]) -> None:
    """The driver's defaults include compressed answers (`compress=1`, ClickHouse's LZ4 blocks)."""
    url = f"jdbc:clickhouse://127.0.0.1:{sandbox.port}/{sandbox.database}"
    since = SINCE.strftime("%Y-%m-%d %H:%M:%S")
    argv = java_argv(jdbc_program(), url, "analyst", CURRENCY, since, sandbox.write_table)
    report = run_json(argv, sandbox.password)
    assert report["server"] == connect_report["server"]
    assert report["events"] == expected.events
    assert report["revenue"] == expected.revenue
    # DatabaseMetaData: tables (views as VIEW) and a view's columns with their ClickHouse types.
    assert [name for name, _ in report["tables"]] == [name for name, _ in expected.tables]
    views = {name for name, engine in expected.tables if engine == "View"}
    assert {name for name, kind in report["tables"] if kind == "VIEW"} == views
    assert report["columns"] == expected.columns
    # What a database browser asks for besides: databases (JDBC schemas), a table's key, types, functions.
    assert sorted(schema for (schema,) in report["schemas"]) == connect_report["databases"]
    assert sorted(column for (column,) in report["primary_keys"]) == connect_report["primary_key"]
    assert {"TABLE", "VIEW"} <= {kind for (kind,) in report["table_types"]}
    assert report["type_info"] > 0
    assert report["functions"] > 0
    assert_refused(report)


@pytest.mark.parametrize("compression", ["none", "lz4", "zstd", "gzip"])
def test_go_driver_over_http(
    sandbox: Sandbox, expected: Expected, connect_report: dict[str, Any], compression: str
) -> None:
    """`none` is the driver's default (Grafana's too); lz4/zstd are ClickHouse's compressed blocks both ways
    (`compress=1`/`decompress=1`, checksums verified by the driver), gzip is HTTP compression."""
    argv = [
        str(go_program()), "-addr", f"127.0.0.1:{sandbox.port}", "-user", "analyst", "-database", sandbox.database,
        "-currency", CURRENCY, "-since", SINCE.strftime("%Y-%m-%d %H:%M:%S"), "-write-table", sandbox.write_table,
        "-compression", compression,
    ]  # fmt: skip
    report = run_json(argv, sandbox.password)
    assert report["server"] == connect_report["server"]
    assert report["events"] == expected.events
    assert report["revenue"] == expected.revenue
    assert report["tables"] == expected.tables
    assert report["columns"] == expected.columns
    assert_refused(report)


def test_go_driver_decodes_columns_of_every_common_type(sandbox: Sandbox, connect_report: dict[str, Any]) -> None:
    argv = [
        str(go_program()), "-addr", f"127.0.0.1:{sandbox.port}", "-database", sandbox.database,
        "-write-table", sandbox.write_table, "-probe", PROBE_SQL,
    ]  # fmt: skip
    report = run_json(argv, sandbox.password)
    assert len(report["probe"]) == 8
    assert probe_cells(report["probe"]) == connect_report["probe"]
