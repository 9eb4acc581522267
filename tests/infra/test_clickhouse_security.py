"""What keeps the ClickHouse service safe to leave running: no anonymous access, passwords generated per stack,
no queries from other sites' web pages, one statement per request exactly as the engine reads it, bounded request
decompression, and limits on every read-only query.

Servers run as child processes on free ports with temporary data dirs (the shared stack's service is not touched).
"""

from __future__ import annotations

import gzip
import json
import os
import random
import stat
import subprocess
import sys
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import clickhouse_connect
import httpx
import lz4.frame  # type: ignore[import-untyped]
import pytest
from backports import zstd
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError
from pydantic import SecretStr, ValidationError
from typer.testing import CliRunner

from cqrs import stack_cli
from infra.clickhouse.compression import decompress_body
from infra.clickhouse.config import ServerSettings
from infra.clickhouse.credentials import ClickHouseCredentials, CredentialsError, ensure, load
from infra.clickhouse.errors import ClickHouseError
from infra.clickhouse.launcher import ServerProcess
from infra.clickhouse.sql import parse_statement
from infra.services.clickhouse import ClickHouse
from infra.settings import StackSettings, stack_settings
from readapi.settings import ReadApiSettings
from streams.settings import StreamsSettings

HERE = Path(__file__).parent
DECOMPRESSED_CAP = 1024 * 1024
RESULT_CAP = 100_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Users and passwords come from a generated users file (the launcher's default, as the stack's)."""
    env = {
        "CQRS_CLICKHOUSE_MAX_DECOMPRESSED_BYTES": str(DECOMPRESSED_CAP),
        "CQRS_CLICKHOUSE_ANALYST_MAX_EXECUTION_TIME_S": "1",
        "CQRS_CLICKHOUSE_ANALYST_MAX_RESULT_BYTES": str(RESULT_CAP),
        "CQRS_CLICKHOUSE_ANALYST_MAX_MEMORY_USAGE": str(64 * 1024 * 1024),
    }
    process = ServerProcess(tmp_path_factory.mktemp("clickhouse-security") / "data", env=env)
    process.start()
    yield process
    process.stop()


def connect(server: ServerProcess, role: str) -> Client:
    users = server.credentials
    name, password = (
        (users.writer_user, users.writer_password) if role == "writer" else (users.analyst_user, users.analyst_password)
    )
    return clickhouse_connect.get_client(
        host="127.0.0.1", port=server.port, username=name, password=password.get_secret_value()
    )


def writer_auth(server: ServerProcess) -> tuple[str, str]:
    return server.credentials.writer_user, server.credentials.writer_password.get_secret_value()


# --- 1. no anonymous access; passwords generated per stack ---------------------------------------------------------


def test_request_without_credentials_is_refused(server: ServerProcess) -> None:
    anonymous = [
        httpx.post(server.url, content=b"SELECT 1"),
        httpx.get(server.url, params={"query": "SELECT 1"}),
        httpx.post(server.url, params={"user": "default"}, content=b"SELECT 1"),
    ]
    for response in anonymous:
        assert response.status_code == 403
        assert response.headers["X-ClickHouse-Exception-Code"] == "516"
        assert "AUTHENTICATION_FAILED" in response.text
        assert "anonymous access is refused" in response.text
    assert httpx.post(server.url, content=b"SELECT 1", auth=writer_auth(server)).text == "1\n"


def test_server_refuses_to_start_with_an_empty_password() -> None:
    with pytest.raises(ValidationError, match="anonymous access is refused"):
        ServerSettings(writer_password=SecretStr(""), analyst_password=SecretStr("analyst-secret"))
    with pytest.raises(ValidationError, match="anonymous access is refused"):
        ServerSettings(writer_password=SecretStr("writer-secret"), analyst_password=SecretStr(""))


@pytest.fixture
def stack_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StackSettings]:
    """A stack state dir of its own: the clients' defaults read the credentials file of `stack_settings()`."""
    for name in list(os.environ):
        if name.startswith(("CQRS_STREAMS_CLICKHOUSE", "CQRS_READAPI_CLICKHOUSE")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CQRS_STACK_STATE_DIR", str(tmp_path / ".stack"))
    stack_settings.cache_clear()
    yield stack_settings()
    stack_settings.cache_clear()


def test_stack_setup_generates_private_passwords_once(stack_dir: StackSettings) -> None:
    service = ClickHouse(stack_dir)
    service.install()
    users_file = stack_dir.clickhouse_users_file
    assert stat.S_IMODE(users_file.stat().st_mode) == 0o600
    first = load(users_file)
    assert first.writer_user == "default"
    assert first.analyst_user == "analyst"
    assert first.writer_password.get_secret_value() != first.analyst_password.get_secret_value()
    assert len(first.writer_password.get_secret_value()) >= 24
    service.prepare()  # every later start keeps them
    assert load(users_file) == first
    assert service.command()[-2:] == ["--users-file", str(users_file)]
    other = StackSettings(state_dir=stack_dir.state_dir.parent / "other")
    ClickHouse(other).install()
    assert load(other.clickhouse_users_file) != first  # per stack, never a constant


def test_concurrent_first_starts_agree_on_one_set_of_passwords(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "users.json"
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: ensure(path), range(32)))
    assert all(result == load(path) for result in results)
    assert [entry.name for entry in path.parent.iterdir()] == ["users.json"]  # no temporary file left behind


def test_workers_and_read_api_default_to_the_stack_credentials(
    stack_dir: StackSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    ClickHouse(stack_dir).install()
    users = load(stack_dir.clickhouse_users_file)
    streams = StreamsSettings()
    assert (streams.clickhouse_user, streams.clickhouse_password) == (users.writer_user, users.writer_password)
    readapi = ReadApiSettings()
    assert (readapi.clickhouse_user, readapi.clickhouse_password) == (users.analyst_user, users.analyst_password)
    monkeypatch.setenv("CQRS_STREAMS_CLICKHOUSE_PASSWORD", "from-env")  # compose passes them this way
    monkeypatch.setenv("CQRS_READAPI_CLICKHOUSE_PASSWORD", "from-env-too")
    assert StreamsSettings().clickhouse_password.get_secret_value() == "from-env"
    assert ReadApiSettings().clickhouse_password.get_secret_value() == "from-env-too"


def test_cli_shows_the_generated_credentials(stack_dir: StackSettings) -> None:
    runner = CliRunner()
    missing = runner.invoke(stack_cli.app, ["credentials", "clickhouse"])
    assert isinstance(missing.exception, CredentialsError)  # `cqrs` prints it with its fix, exit code 7
    assert missing.exception.exit_code == 7
    ClickHouse(stack_dir).install()
    users = load(stack_dir.clickhouse_users_file)
    shown = runner.invoke(stack_cli.app, ["credentials", "clickhouse"], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    assert users.writer_password.get_secret_value() in shown.output
    assert users.analyst_password.get_secret_value() in shown.output
    as_env = runner.invoke(stack_cli.app, ["credentials", "clickhouse", "--env"])
    assert as_env.output.splitlines() == [
        f"CLICKHOUSE_WRITER_PASSWORD={users.writer_password.get_secret_value()}",
        f"CLICKHOUSE_ANALYST_PASSWORD={users.analyst_password.get_secret_value()}",
    ]
    assert runner.invoke(stack_cli.app, ["credentials", "kafka"]).exit_code == 2


def test_users_file_with_an_empty_password_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    path.write_text(json.dumps({"writer_password": "", "analyst_password": "x" * 24}))
    with pytest.raises(CredentialsError, match="not a valid ClickHouse users file"):
        load(path)
    assert ClickHouseCredentials.generate() != ClickHouseCredentials.generate()


# --- 2. no queries from other sites' web pages (CSRF) ---------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},  # another port on loopback is another origin
    ],
)
def test_cross_site_browser_request_cannot_run_ddl(server: ServerProcess, headers: dict[str, str]) -> None:
    table = f"csrf_{uuid.uuid4().hex[:8]}"
    response = httpx.post(
        server.url,
        content=f"CREATE TABLE {table} (a UInt8) ENGINE = Memory".encode(),
        headers=headers,
        auth=writer_auth(server),  # a browser that remembered the password would send it along
    )
    assert response.status_code == 403
    assert response.headers["X-ClickHouse-Exception-Code"] == "497"
    assert "Cross-site request refused" in response.text
    check = httpx.post(server.url, content=f"EXISTS TABLE {table}".encode(), auth=writer_auth(server))
    assert check.text == "0\n"


def test_same_origin_requests_and_database_clients_are_served(server: ServerProcess) -> None:
    same_origin = {"Origin": server.url, "Sec-Fetch-Site": "same-origin"}
    assert httpx.post(server.url, content=b"SELECT 1", headers=same_origin, auth=writer_auth(server)).text == "1\n"
    assert connect(server, "writer").command("SELECT 2") == 2


# --- 3. one statement per request, as the engine's lexer reads it ---------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "SELECT 1 AS a$$; SET max_threads = 1",  # `$` continues a bare word: no heredoc opens here
        "SELECT ‘'’; USE x",  # noqa: RUF001  # Unicode quotes make a string; the ASCII quote inside is just a char
        "SELECT “a'b” FROM t; DROP TABLE t",  # ... and an identifier
        "SELECT 1 /* /* */ ' */ ; SET readonly = 0 -- '",  # block comments nest
        "SELECT $x;$ 1; SET max_threads = 1",  # a heredoc tag is word characters only
    ],
)
def test_statements_the_engine_would_split_are_refused(raw: str) -> None:
    with pytest.raises(ClickHouseError, match="Multi-statements are not allowed"):
        parse_statement(raw.encode())


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("SELECT $a$;$a$", "SELECT"),  # a heredoc string
        ("SELECT ‘;’", "SELECT"),  # noqa: RUF001
        ("SELECT 1 # ; SET readonly = 0", "SELECT"),  # a comment: `#` before a space
        ("SELECT 'a' //; SET readonly = 0", "SELECT"),  # `//` starts a comment too
        ("\u00a0SET max_threads = 1", "SET"),  # Unicode whitespace before a session statement
        ("\ufeffUSE system", "USE"),
    ],
)
def test_single_statements_and_their_leading_keyword(raw: str, kind: str) -> None:
    assert parse_statement(raw.encode()).kind == kind


def test_smuggled_second_statement_never_reaches_the_engine(server: ServerProcess) -> None:
    writer = connect(server, "writer")
    before = writer.command("SELECT getSetting('max_threads')")
    for attack in ("SELECT 1 AS a$$; SET max_threads = 1", "SELECT ‘'’; SET max_threads = 1"):  # noqa: RUF001
        with pytest.raises(DatabaseError, match="Multi-statements are not allowed") as refused:
            writer.command(attack)
        assert refused.value.code == 62
    with pytest.raises(DatabaseError, match="no HTTP sessions") as session:
        writer.command("\u00a0SET max_threads = 1")
    assert session.value.code == 48
    assert writer.command("SELECT getSetting('max_threads')") == before


def test_many_unclosed_heredoc_tags_are_lexed_in_linear_time() -> None:
    """Each `$aN$` could open a heredoc; searching the rest of the text for every one is quadratic (5 s here, over a
    minute at 340 KB), and the lexer holds the GIL, so the whole server would stall."""
    values = ("INSERT INTO t VALUES " + " ".join(f"($a{i}$)" for i in range(8000))).encode()
    started = time.perf_counter()
    assert parse_statement(values).kind == "INSERT"
    assert time.perf_counter() - started < 1.0


FRAGMENTS = [
    "'", '"', "`", "‘", "’", "“", "”", "$", "$a$", "$$", "/*", "*/", "--", "//", "#", "# ", "\n", "\\", ";",  # noqa: RUF001
    "x'", "b'", "a", "1", " ", "a$", "é", "\u00a0", "SELECT 2", "''", "*", "/",
]  # fmt: skip


def _our_verdict(query: str) -> str:
    try:
        parse_statement(query.encode())
    except ClickHouseError as exc:
        return "multi" if "Multi-statements" in exc.message else "error"
    return "single"


def test_multi_statement_guard_agrees_with_the_engine_parser() -> None:
    """Random texts built from every lexer corner case; the engine's own parser (formatQuerySingleLine, in a child
    process) says whether each is one statement or several. Where it parses one, the guard must let it through;
    where it sees several, the guard must refuse."""
    rng = random.Random(20261201)
    queries = [
        rng.choice(["SELECT ", "SELECT 1 AS ", "SELECT 'a' "])
        + "".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 7)))
        + rng.choice(["", "; SELECT 2", ";"])
        for _ in range(6000)
    ]
    engine = subprocess.run(
        [sys.executable, str(HERE / "chdb_parser_oracle.py")],
        input=json.dumps(queries),
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    verdicts = json.loads(engine.stdout)
    assert verdicts.count("multi") > 100
    assert verdicts.count("single") > 100
    disagreements = [
        (query, verdict, _our_verdict(query))
        for query, verdict in zip(queries, verdicts, strict=True)
        if verdict != "error" and verdict != _our_verdict(query)
    ]
    assert not disagreements, disagreements[:10]


# --- 4. bounded decompression; limits on read-only queries ----------------------------------------------------------

CODECS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "zstd": zstd.compress,
    "lz4": lz4.frame.compress,
}


@pytest.mark.parametrize("encoding", sorted(CODECS))
def test_decompression_bomb_is_refused_once_the_output_passes_the_cap(encoding: str) -> None:
    bomb = CODECS[encoding](bytes(64 * 1024 * 1024))  # 64 MiB of zeros, a few KiB compressed
    assert len(bomb) < 1024 * 1024
    with pytest.raises(ClickHouseError, match="exceeds max_decompressed_bytes") as refused:
        decompress_body(bomb, encoding, DECOMPRESSED_CAP)
    assert refused.value.http_status == 413
    fits = b"1\n" * 1000
    framed = CODECS[encoding](fits) + CODECS[encoding](fits)  # clients may send several frames (members)
    assert decompress_body(framed, encoding, len(fits) * 2) == fits * 2


@pytest.mark.parametrize("encoding", ["gzip", "zstd", "lz4"])
def test_compressed_insert_bomb_is_refused_by_the_server(server: ServerProcess, encoding: str) -> None:
    table = f"bomb_{uuid.uuid4().hex[:8]}"
    auth = writer_auth(server)
    httpx.post(server.url, content=f"CREATE TABLE {table} (line String) ENGINE = Memory".encode(), auth=auth)
    body = CODECS[encoding](b"x\n" * (8 * DECOMPRESSED_CAP))
    response = httpx.post(
        server.url,
        params={"query": f"INSERT INTO {table} FORMAT TSV"},
        content=body,
        headers={"Content-Encoding": encoding},
        auth=auth,
    )
    assert response.status_code == 413
    assert f"exceeds max_decompressed_bytes ({DECOMPRESSED_CAP})" in response.text
    assert httpx.post(server.url, content=f"SELECT count() FROM {table}".encode(), auth=auth).text == "0\n"
    small = CODECS[encoding](b"x\n" * 1000)
    inserted = httpx.post(
        server.url,
        params={"query": f"INSERT INTO {table} FORMAT TSV"},
        content=small,
        headers={"Content-Encoding": encoding},
        auth=auth,
    )
    assert inserted.status_code == 200, inserted.text
    assert httpx.post(server.url, content=f"SELECT count() FROM {table}".encode(), auth=auth).text == "1000\n"


def test_analyst_query_over_max_execution_time_fails_with_timeout_exceeded(server: ServerProcess) -> None:
    analyst = connect(server, "analyst")
    with pytest.raises(DatabaseError) as slow:
        analyst.command("SELECT sum(cityHash64(number)) FROM numbers(100000000000)")
    assert slow.value.code == 159  # TIMEOUT_EXCEEDED
    with pytest.raises(DatabaseError) as lifted:  # readonly=1: the analyst cannot lift the limit
        analyst.command("SELECT 1 SETTINGS max_execution_time = 0")
    assert lifted.value.code == 164


def test_analyst_query_over_max_result_bytes_fails_with_too_many_rows_or_bytes(server: ServerProcess) -> None:
    analyst = connect(server, "analyst")
    with pytest.raises(DatabaseError) as large:
        analyst.query("SELECT number FROM numbers(1000000)")
    assert large.value.code == 396  # TOO_MANY_ROWS_OR_BYTES
    assert analyst.command("SELECT count() FROM numbers(1000000)") == 1_000_000  # small answers still work
    # The limits are the read-only session's: the projection's writer is not bound by them.
    assert connect(server, "writer").query("SELECT number FROM numbers(1000000)").row_count == 1_000_000


def test_analyst_query_over_max_memory_usage_fails_with_memory_limit_exceeded(server: ServerProcess) -> None:
    analyst = connect(server, "analyst")
    with pytest.raises(DatabaseError) as greedy:
        analyst.command("SELECT length(groupArray(number)) FROM numbers(100000000)")
    assert greedy.value.code == 241  # MEMORY_LIMIT_EXCEEDED
