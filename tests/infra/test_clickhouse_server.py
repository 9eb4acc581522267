"""The chdb-backed ClickHouse HTTP server, driven by clickhouse-connect's ordinary HTTP client.

The server runs as a child process on a free port with a temporary data dir (no stack needed). The last tests
also check the small pure parts (statement splitting) that decide how a request reaches the engine.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import clickhouse_connect
import httpx
import pytest
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError

from infra.clickhouse.launcher import ServerProcess
from infra.clickhouse.sql import parse_statement

WRITER = ("default", "writer-secret")
ANALYST = ("analyst", "analyst-secret")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("clickhouse") / "data"
    env = {
        "CQRS_CLICKHOUSE_WRITER_USER": WRITER[0],
        "CQRS_CLICKHOUSE_WRITER_PASSWORD": WRITER[1],
        "CQRS_CLICKHOUSE_ANALYST_USER": ANALYST[0],
        "CQRS_CLICKHOUSE_ANALYST_PASSWORD": ANALYST[1],
    }
    process = ServerProcess(data_dir, env=env)
    process.start()
    yield process
    process.stop()


def connect(server: ServerProcess, user: tuple[str, str], **options: Any) -> Client:
    return clickhouse_connect.get_client(
        host="127.0.0.1", port=server.port, username=user[0], password=user[1], **options
    )


@pytest.fixture
def writer(server: ServerProcess) -> Iterator[Client]:
    client = connect(server, WRITER)
    yield client
    client.close()


@pytest.fixture
def analyst(server: ServerProcess) -> Iterator[Client]:
    client = connect(server, ANALYST)
    yield client
    client.close()


def table_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


EVENT_COLUMNS = ["event_id", "order_id", "version", "status", "currency", "amount", "skus", "ts"]


def create_events(client: Client, name: str) -> None:
    client.command(
        f"""CREATE TABLE {name} (
            event_id UUID, order_id UUID, version UInt64, status LowCardinality(String),
            currency LowCardinality(String), amount Decimal(18, 2), skus Array(String), ts DateTime64(3)
        ) ENGINE = MergeTree ORDER BY (order_id, version)"""
    )


def event_rows(count: int, start: int = 0) -> list[tuple[Any, ...]]:
    statuses = ("pending", "confirmed", "shipped", "cancelled")
    return [
        (
            uuid.UUID(int=i + 1),
            uuid.UUID(int=(i // 2) + 10_000),
            i % 2 + 1,
            statuses[i % 4],
            "EUR" if i % 3 else "USD",
            Decimal(i % 10_000) / 100 + Decimal("0.01"),
            [f"SKU-{i % 7}"] * (i % 3),
            datetime(2025, 3, 1, 12, 0, 0, (i % 1000) * 1000),
        )
        for i in range(start, start + count)
    ]


def test_ping_and_handshake(server: ServerProcess, writer: Client) -> None:
    assert httpx.get(f"{server.url}/ping").text == "Ok.\n"
    assert writer.ping()
    assert writer.server_version  # from `SELECT version(), timezone()` on connect
    assert writer.command("SELECT 1") == 1
    assert writer.command("SELECT 'a', 2") == ["a", "2"]


def test_types_round_trip_exactly(writer: Client) -> None:
    name = table_name("events")
    create_events(writer, name)
    extreme = (
        uuid.uuid4(),
        uuid.uuid4(),
        7,
        "shipped",
        "GBP",
        Decimal("-12345678901234.99"),
        ["a", "b,c", "'q'", ""],
        datetime(1999, 12, 31, 23, 59, 59, 999000),
    )
    rows = [*event_rows(3), extreme]
    summary = writer.insert(name, rows, column_names=EVENT_COLUMNS)
    assert summary.written_rows == len(rows)
    result = writer.query(f"SELECT {', '.join(EVENT_COLUMNS)} FROM {name} ORDER BY order_id, version")
    assert sorted(result.result_rows, key=lambda row: (row[1], row[2])) == sorted(rows, key=lambda r: (r[1], r[2]))
    assert [t.name for t in result.column_types] == [
        "UUID", "UUID", "UInt64", "LowCardinality(String)", "LowCardinality(String)", "Decimal(18, 2)",
        "Array(String)", "DateTime64(3)",
    ]  # fmt: skip


def test_replacing_merge_tree_keeps_the_latest_version(writer: Client) -> None:
    name = table_name("orders_latest")
    writer.command(
        f"CREATE TABLE {name} (order_id UUID, status LowCardinality(String), total Decimal(18, 2),"
        " version UInt64) ENGINE = ReplacingMergeTree(version) ORDER BY order_id"
    )
    order = uuid.uuid4()
    columns = ["order_id", "status", "total", "version"]
    writer.insert(name, [(order, "pending", Decimal("10.00"), 1)], column_names=columns)
    writer.insert(name, [(order, "confirmed", Decimal("12.50"), 2)], column_names=columns)
    writer.insert(name, [(order, "pending", Decimal("10.00"), 1)], column_names=columns)  # a redelivered event
    assert writer.query(f"SELECT status, total, version FROM {name} FINAL").result_rows == [
        ("confirmed", Decimal("12.50"), 2)
    ]
    writer.command(f"OPTIMIZE TABLE {name} FINAL")
    assert writer.command(f"SELECT count() FROM {name}") == 1


def test_materialized_view_updates_on_insert(writer: Client) -> None:
    facts, daily = table_name("order_events"), table_name("daily_revenue")
    create_events(writer, facts)
    writer.command(
        f"CREATE TABLE {daily} (day Date, status LowCardinality(String), currency LowCardinality(String),"
        " revenue Decimal(18, 2), orders UInt64) ENGINE = SummingMergeTree ORDER BY (day, status, currency)"
    )
    writer.command(
        f"CREATE MATERIALIZED VIEW {daily}_mv TO {daily} AS SELECT toDate(ts) AS day, status, currency,"
        f" sum(amount) AS revenue, count() AS orders FROM {facts} GROUP BY day, status, currency"
    )
    batches = [event_rows(50), event_rows(30, start=50)]
    for batch in batches:
        summary = writer.insert(facts, batch, column_names=EVENT_COLUMNS)
        assert summary.written_rows >= len(batch)  # facts, plus the rows the view wrote
    rows = [row for batch in batches for row in batch]
    expected: dict[tuple[str, str], tuple[Decimal, int]] = {}
    for row in rows:
        revenue, orders = expected.get((row[3], row[4]), (Decimal(0), 0))
        expected[(row[3], row[4])] = (revenue + row[5], orders + 1)
    result = writer.query(f"SELECT status, currency, sum(revenue), sum(orders) FROM {daily} GROUP BY status, currency")
    assert {(s, c): (r, o) for s, c, r, o in result.result_rows} == expected


def test_errors_raise_database_error_and_the_server_keeps_serving(writer: Client) -> None:
    with pytest.raises(DatabaseError, match="UNKNOWN_TABLE") as unknown:
        writer.query("SELECT * FROM no_such_table")
    assert unknown.value.code == 60
    with pytest.raises(DatabaseError, match="SYNTAX_ERROR"):
        writer.command("SELEC 1")
    with pytest.raises(DatabaseError, match="Multi-statements are not allowed"):
        writer.command("SELECT 1; DROP TABLE whatever")
    with pytest.raises(DatabaseError, match="no HTTP sessions") as session_statement:
        writer.command("SET max_threads = 1")
    assert session_statement.value.code == 48
    # A corrupt insert body fails inside the engine; the streaming insert must be cancelled, not left open.
    name = table_name("events")
    create_events(writer, name)
    with pytest.raises(DatabaseError, match="Code: "):
        writer.raw_insert(name, ["version"], insert_block=b"\x01\x05garbage", fmt="Native")
    with pytest.raises(DatabaseError, match="UNKNOWN_TABLE"):
        writer.insert("no_such_table", [(1,)], column_names=["x"], column_type_names=["UInt8"])
    writer.insert(name, event_rows(5), column_names=EVENT_COLUMNS)
    assert writer.command(f"SELECT count() FROM {name}") == 5


def test_analyst_can_read_but_not_write(server: ServerProcess, writer: Client, analyst: Client) -> None:
    name = table_name("events")
    create_events(writer, name)
    writer.insert(name, event_rows(10), column_names=EVENT_COLUMNS)
    assert analyst.query(f"SELECT count() FROM {name}").result_rows == [(10,)]
    assert analyst.command(f"EXISTS TABLE {name}") == 1
    assert analyst.query(f"DESCRIBE TABLE {name}").row_count == len(EVENT_COLUMNS)
    # No statement allow-list in the server: the engine session of the analyst has readonly=1, and code 164
    # (READONLY) proves the engine itself refuses the write.
    assert analyst.command("SELECT getSetting('readonly')") == 1
    refused: list[Callable[[], object]] = [
        lambda: analyst.insert(name, event_rows(1), column_names=EVENT_COLUMNS),
        lambda: analyst.command(f"CREATE TABLE {name}_copy AS {name}"),
        lambda: analyst.command(f"DROP TABLE {name}"),
        lambda: analyst.command(f"TRUNCATE TABLE {name}"),
        lambda: analyst.command(f"ALTER TABLE {name} DELETE WHERE 1"),
        lambda: analyst.command(f"INSERT INTO {name} SELECT * FROM {name}"),
        lambda: analyst.command("SELECT * FROM file('data.csv', 'CSV', 'a String')"),
        lambda: analyst.command("INSERT INTO FUNCTION file('out.csv', 'CSV') SELECT 1"),
        lambda: analyst.command("SELECT 1 SETTINGS readonly = 0"),
    ]
    for attempt in refused:
        with pytest.raises(DatabaseError, match="READONLY") as error:
            attempt()
        assert error.value.code == 164
    assert writer.command(f"SELECT count() FROM {name}") == 10
    # GET is read-only for every user, as with clickhouse-server.
    response = httpx.get(server.url, params={"query": f"DROP TABLE {name}"}, auth=WRITER)
    assert response.status_code == 500
    assert response.headers["X-ClickHouse-Exception-Code"] == "164"
    assert writer.command(f"EXISTS TABLE {name}") == 1


def test_authentication(server: ServerProcess) -> None:
    with pytest.raises(DatabaseError, match="AUTHENTICATION_FAILED") as wrong:
        connect(server, (ANALYST[0], "wrong"))
    assert wrong.value.code == 516
    # No credentials means the `default` user with an empty password, as with clickhouse-server: refused.
    anonymous = httpx.post(server.url, content=b"SELECT 1")
    assert anonymous.status_code == 403
    assert anonymous.headers["X-ClickHouse-Exception-Code"] == "516"
    by_headers = httpx.post(
        server.url,
        content=b"SELECT 1",
        headers={"X-ClickHouse-User": ANALYST[0], "X-ClickHouse-Key": ANALYST[1]},
    )
    assert by_headers.text == "1\n"
    by_params = httpx.get(server.url, params={"query": "SELECT 2", "user": WRITER[0], "password": WRITER[1]})
    assert by_params.text == "2\n"


def test_parameters_settings_and_formats(writer: Client) -> None:
    name = table_name("events")
    create_events(writer, name)
    rows = event_rows(20)
    writer.insert(name, rows, column_names=EVENT_COLUMNS)
    order_id = rows[4][1]
    result = writer.query(
        f"SELECT count() FROM {name} WHERE order_id = {{order:UUID}}",
        parameters={"order": order_id},
        settings={"max_threads": 1},
    )
    assert result.result_rows == [(2,)]
    # Bind parameters over 4 KiB make clickhouse-connect send the query as multipart/form-data fields.
    many = [str(row[1]) for row in rows] + [str(uuid.uuid4()) for _ in range(200)]
    in_list = writer.query(
        f"SELECT count() FROM {name} WHERE toString(order_id) IN {{ids:Array(String)}}",
        parameters={"ids": many},
    )
    assert in_list.result_rows == [(20,)]
    assert writer.raw_query("SELECT 1 AS x", fmt="JSONEachRow") == b'{"x":1}\n'
    assert writer.query(f"SELECT * FROM {name} LIMIT 0").column_names == tuple(EVENT_COLUMNS)
    # Settings are applied per request and reverted for the next one (the engine session is shared).
    default = writer.command("SELECT getSetting('max_block_size')")
    assert writer.command("SELECT getSetting('max_block_size')", settings={"max_block_size": 1234}) == 1234
    assert writer.command("SELECT getSetting('max_block_size')") == default != 1234
    # Settings that forbid changing settings afterwards must not poison the shared writer session.
    for setting, code in (({"readonly": 1}, 164), ({"allow_ddl": 0}, 392)):
        with pytest.raises(DatabaseError) as refused:
            writer.command(f"CREATE TABLE {name}_x (a UInt8) ENGINE = Memory", settings=setting)
        assert refused.value.code == code
        writer.command(f"CREATE TABLE {name}_x (a UInt8) ENGINE = Memory")
        writer.command(f"DROP TABLE {name}_x")


async def test_async_client_and_other_result_shapes(server: ServerProcess, writer: Client) -> None:
    name = table_name("events")
    create_events(writer, name)
    rows = event_rows(300)
    client = await clickhouse_connect.get_async_client(
        host="127.0.0.1", port=server.port, username=WRITER[0], password=WRITER[1]
    )
    await client.insert(name, rows, column_names=EVENT_COLUMNS)
    assert (await client.query(f"SELECT count() FROM {name}")).result_rows == [(300,)]
    await client.close()
    assert writer.query_arrow(f"SELECT version FROM {name}").num_rows == 300
    assert len(writer.query_df(f"SELECT status FROM {name}")) == 300
    with writer.query_row_block_stream(f"SELECT event_id FROM {name}") as stream:
        assert sum(len(block) for block in stream) == 300
    berlin = writer.query("SELECT toDateTime('2025-01-01 00:00:00')", settings={"session_timezone": "Europe/Berlin"})
    assert str(berlin.result_rows[0][0].tzinfo) == "Europe/Berlin"


@pytest.mark.parametrize("compress", ["lz4", "zstd", "gzip", False])
def test_insert_body_compression(server: ServerProcess, compress: str | bool) -> None:
    client = connect(server, WRITER, compress=compress)
    name = table_name("events")
    create_events(client, name)
    rows = event_rows(2_000)
    client.insert(name, rows, column_names=EVENT_COLUMNS)
    assert client.query(f"SELECT count(), sum(amount) FROM {name}").result_rows == [(2000, sum(r[5] for r in rows))]
    client.close()


def test_parallel_clients_see_consistent_results(server: ServerProcess, writer: Client) -> None:
    name = table_name("events")
    writer.command(f"CREATE TABLE {name} (client UInt8, batch UInt32, n UInt32) ENGINE = MergeTree ORDER BY batch")
    batch_size, batches = 500, 25
    failures: list[BaseException] = []

    def work(client_id: int) -> None:
        try:
            client = connect(server, WRITER)
            for batch in range(batches):
                rows = [(client_id, batch, n) for n in range(batch_size)]
                client.insert(name, rows, column_names=["client", "batch", "n"])
                mine, total = client.query(f"SELECT countIf(client = {client_id}), count() FROM {name}").result_rows[0]
                assert mine == (batch + 1) * batch_size  # its own inserts are all visible at once
                assert total % batch_size == 0  # never half of another client's insert
            client.close()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(client_id,)) for client_id in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    totals = writer.query(f"SELECT client, count(), uniqExact(batch) FROM {name} GROUP BY client ORDER BY client")
    assert totals.result_rows == [(1, batch_size * batches, batches), (2, batch_size * batches, batches)]


def test_insert_and_select_take_milliseconds(writer: Client) -> None:
    name = table_name("events")
    create_events(writer, name)
    rows = event_rows(10_000)
    writer.insert(name, rows[:10], column_names=EVENT_COLUMNS)  # warm-up: the client imports pandas once
    started = time.perf_counter()
    writer.insert(name, rows, column_names=EVENT_COLUMNS)
    inserted = time.perf_counter() - started
    started = time.perf_counter()
    result = writer.query(f"SELECT status, count(), sum(amount) FROM {name} GROUP BY status")
    selected = time.perf_counter() - started
    assert result.row_count == 4
    # Generous bounds for shared CI machines; locally these are ~25 ms and ~5 ms (see cqrs.bench.clickhouse).
    assert inserted < 1.0, inserted
    assert selected < 0.5, selected


def test_metrics(server: ServerProcess, writer: Client) -> None:
    writer.command("SELECT 1")
    text = httpx.get(f"{server.url}/metrics").text
    assert 'clickhouse_http_queries_total{kind="SELECT",outcome="ok",user="default"}' in text
    assert "clickhouse_engine_queue_wait_seconds_bucket" in text
    assert "process_resident_memory_bytes" in text


def test_data_survives_a_restart(server: ServerProcess) -> None:
    client = connect(server, WRITER)
    name = table_name("events")
    create_events(client, name)
    rows = event_rows(100)
    client.insert(name, rows, column_names=EVENT_COLUMNS)
    client.close()
    server.stop()
    server.start()  # same data dir, same port
    client = connect(server, WRITER)
    restored = client.query(f"SELECT {', '.join(EVENT_COLUMNS)} FROM {name}").result_rows
    assert sorted(tuple(row) for row in restored) == sorted(rows)
    client.close()


@pytest.mark.parametrize(
    ("raw", "sql", "insert_format", "data"),
    [
        (
            b"INSERT INTO `t` (`a`) FORMAT Native\n\n\x00 \x01",
            "INSERT INTO `t` (`a`) ",
            "Native",
            b"\n\x00 \x01",
        ),
        (b"INSERT INTO t FORMAT CSV 1,2\n", "INSERT INTO t ", "CSV", b"1,2\n"),
        (b"INSERT INTO format FORMAT TSV\n1\n", "INSERT INTO format ", "TSV", b"1\n"),
        (b"INSERT INTO t -- c\nFORMAT Native\n\x01", "INSERT INTO t -- c\n", "Native", b"\x01"),
        (b"INSERT INTO t VALUES (1, 'FORMAT x')", "INSERT INTO t VALUES (1, 'FORMAT x')", None, b""),
    ],
)
def test_insert_statement_splitting(raw: bytes, sql: str, insert_format: str | None, data: bytes) -> None:
    statement = parse_statement(raw)
    assert (statement.kind, statement.sql, statement.insert_format, statement.data) == (
        "INSERT",
        sql,
        insert_format,
        data,
    )


@pytest.mark.parametrize(
    ("raw", "output_format"),
    [
        (b"SELECT 1", None),
        (b"SELECT 1 FORMAT JSON;", "JSON"),
        (b"SELECT 'FORMAT CSV' FROM (SELECT 1 FORMAT TSV)", None),
        (b"SELECT 1 FORMAT JSONEachRow SETTINGS max_threads = 1", "JSONEachRow"),
    ],
)
def test_output_format_detection(raw: bytes, output_format: str | None) -> None:
    assert parse_statement(raw).output_format == output_format


@pytest.mark.parametrize(
    "raw", [b"SELECT 1; SELECT 2", b"SELECT ';'; SET readonly = 0", b"SELECT 1 /* ; */; DROP TABLE t"]
)
def test_several_statements_are_refused(raw: bytes) -> None:
    with pytest.raises(Exception, match="Multi-statements are not allowed"):
        parse_statement(raw)
