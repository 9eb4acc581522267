"""How bodies travel between the ClickHouse service and the official drivers: ClickHouse's compressed blocks
(`compress=1` answers, `decompress=1` requests), HTTP response compression (`enable_http_compression=1`), and Native
answers re-framed for a `client_protocol_version` (the Go driver's). Raw HTTP, so each rule is seen on the wire;
tests/infra/clickhouse_compat runs the drivers themselves.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import lz4.frame  # type: ignore[import-untyped]
import pytest
from backports import zstd

from infra.clickhouse.credentials import stack_credentials
from infra.clickhouse.errors import ClickHouseError
from infra.clickhouse.native_compression import (
    METHOD_LZ4,
    METHOD_NONE,
    METHOD_ZSTD,
    checksum,
    compress_blocks,
    decompress_blocks,
)
from infra.clickhouse.native_format import reframe
from infra.stack import Stack

ROWS_SQL = "SELECT number, toString(number) AS text FROM numbers(5000) FORMAT TabSeparated"
LARGE_SQL = "SELECT number, toString(number) AS text FROM numbers(150000) FORMAT TabSeparated"  # > 1 MiB


@dataclass(frozen=True, slots=True)
class Service:
    url: str
    writer: tuple[str, str]
    analyst: tuple[str, str]


@pytest.fixture(scope="module")
def service(stack: Stack) -> Service:
    """The stack's ClickHouse service (already running: no server start of its own)."""
    users = stack_credentials()
    assert users is not None, "the stack has no ClickHouse users file"
    return Service(
        f"http://127.0.0.1:{stack.settings.ports.clickhouse}",
        (users.writer_user, users.writer_password.get_secret_value()),
        (users.analyst_user, users.analyst_password.get_secret_value()),
    )


def post(service: Service, body: bytes, *, user: tuple[str, str] | None = None, **params: str) -> httpx.Response:
    return httpx.post(
        service.url,
        params=params,
        content=body,
        auth=user or service.analyst,
        headers={"Accept-Encoding": "identity"},
        timeout=30,
    )


def plain_answer(service: Service, sql: str = ROWS_SQL) -> bytes:
    response = post(service, sql.encode())
    assert response.status_code == 200
    assert "content-encoding" not in response.headers
    return response.content


# --- ClickHouse's compressed blocks --------------------------------------------------------------------------------


def test_compress_answers_in_checksummed_lz4_blocks(service: Service) -> None:
    plain = plain_answer(service, LARGE_SQL)
    compressed = post(service, LARGE_SQL.encode(), compress="1").content
    assert compressed != plain
    assert len(compressed) < len(plain)
    assert compressed[16] == METHOD_LZ4  # clickhouse-server answers LZ4 whatever the native method setting says
    assert decompress_blocks(compressed, 10 * len(plain)) == plain  # checksums verified on the way
    # Blocks of at most 1 MiB uncompressed, as clickhouse-server's CompressedWriteBuffer writes them.
    first_size = int.from_bytes(compressed[17:21], "little")
    assert len(plain) > 1024 * 1024
    assert int.from_bytes(compressed[21:25], "little") == 1024 * 1024
    assert compressed[16 + first_size + 16] == METHOD_LZ4


def test_errors_travel_compressed_once_the_request_asked(service: Service) -> None:
    refused = post(service, b"SELECT * FROM no_such_table", compress="1")
    assert refused.status_code == 404
    assert refused.headers["x-clickhouse-exception-code"] == "60"
    assert b"UNKNOWN_TABLE" in decompress_blocks(refused.content, 1 << 20)
    # Authentication comes before the request's own parameters: that answer is plain, as clickhouse-server's is.
    anonymous = post(service, b"SELECT 1", user=(service.analyst[0], "wrong"), compress="1")
    assert anonymous.status_code == 403
    assert anonymous.content.startswith(b"Code: 516")


@pytest.mark.parametrize("method", [METHOD_LZ4, METHOD_ZSTD, METHOD_NONE])
def test_decompress_takes_compressed_insert_bodies(service: Service, method: int) -> None:
    name = f"blocks_{uuid.uuid4().hex[:8]}"
    assert post(service, f"CREATE TABLE {name} (n UInt32, s String) ENGINE = MergeTree ORDER BY n".encode(),
                user=service.writer).status_code == 200  # fmt: skip
    rows = "".join(f"{n}\tvalue {n}\n" for n in range(30000)).encode()
    body = compress_blocks(rows, method, block_size=64 * 1024)  # several blocks
    inserted = post(service, body, user=service.writer, decompress="1", query=f"INSERT INTO {name} FORMAT TabSeparated")
    assert inserted.status_code == 200, inserted.text
    count = post(service, f"SELECT count(), sum(n) FROM {name}".encode(), user=service.writer).text
    assert count == f"30000\t{sum(range(30000))}\n"
    post(service, f"DROP TABLE {name}".encode(), user=service.writer)


def test_a_corrupt_block_is_refused_by_its_checksum(service: Service) -> None:
    body = bytearray(compress_blocks(b"SELECT 1"))
    body[-1] ^= 0x01
    refused = post(service, bytes(body), decompress="1")
    assert refused.headers["x-clickhouse-exception-code"] == "40"
    assert "CHECKSUM_DOESNT_MATCH" in refused.text
    # clickhouse-server's switch for clients that do not checksum: the corruption then reaches the engine.
    unchecked = post(
        service,
        bytes(body),
        decompress="1",
        http_native_compression_disable_checksumming_on_decompress="1",
    )
    assert unchecked.headers.get("x-clickhouse-exception-code") != "40"


def test_a_block_claiming_more_than_the_cap_is_refused_before_decompressing() -> None:
    header = bytes([METHOD_LZ4]) + (9 + 4).to_bytes(4, "little") + (512 * 1024**2).to_bytes(4, "little")
    block = header + b"\x00\x00\x00\x00"
    with pytest.raises(ClickHouseError, match="exceeds max_decompressed_bytes") as refused:
        decompress_blocks(checksum(block) + block, 1024 * 1024)
    assert refused.value.http_status == 413


def test_checksum_is_cityhash128_low_half_first() -> None:
    """The value ClickHouse (and ch-go's city.CH128) computes for "abc", low 64 bits written first."""
    assert checksum(b"abc").hex() == "fe48775795f10f907e0db2556317a913"


# --- HTTP response compression ---------------------------------------------------------------------------------------

DECODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.decompress,
    "deflate": zlib.decompress,
    "zstd": zstd.decompress,
    "lz4": lz4.frame.decompress,
    "xz": lzma.decompress,
    "bz2": bz2.decompress,
}


@pytest.mark.parametrize("encoding", list(DECODERS))
def test_http_compression_when_enabled(service: Service, encoding: str) -> None:
    plain = plain_answer(service)
    with httpx.stream(
        "POST",
        service.url,
        params={"enable_http_compression": "1"},
        content=ROWS_SQL.encode(),
        auth=service.analyst,
        headers={"Accept-Encoding": f"{encoding}, identity"},
    ) as response:
        assert response.headers["content-encoding"] == encoding
        raw = b"".join(response.iter_raw())  # as sent: httpx would decode the encodings it knows
    assert DECODERS[encoding](raw) == plain


def test_clickhouse_servers_preference_and_the_defaults(service: Service) -> None:
    def encoding(accept: str, **params: str) -> str | None:
        with httpx.stream(
            "POST",
            service.url,
            params=params,
            content=b"SELECT 1",
            auth=service.analyst,
            headers={"Accept-Encoding": accept},
        ) as response:
            assert response.status_code == 200
            chosen: str | None = response.headers.get("content-encoding")
            return chosen

    assert encoding("gzip, deflate, br, zstd") == "zstd"  # enable_http_compression defaults to 1 in this version
    assert encoding("gzip, deflate, br, zstd", enable_http_compression="0") is None
    assert encoding("gzip, deflate, br, zstd", enable_http_compression="1") == "zstd"
    assert encoding("gzip, deflate", enable_http_compression="true") == "gzip"
    assert encoding("br", enable_http_compression="1") is None  # nothing this server has: identity, valid HTTP


# --- Native for a protocol revision ----------------------------------------------------------------------------------


def test_native_gets_block_info_and_serialization_flags_from_revision_54454(service: Service) -> None:
    query = b"SELECT number AS n, [toString(number)] AS a FROM numbers(3) FORMAT Native"
    plain = post(service, query).content
    for revision in ("0", "54405"):  # clickhouse-connect's probe keeps chdb's framing (it reads both)
        assert post(service, query, client_protocol_version=revision).content == plain
    framed = post(service, query, client_protocol_version="54460").content
    assert framed == reframe(plain)
    block_info, header = b"\x01\x00\x02\xff\xff\xff\xff\x00", b"\x02\x03"
    assert framed.startswith(block_info + header + b"\x01n\x06UInt64\x00")
    assert b"\x01a\x0dArray(String)\x00" in framed
    assert len(framed) == len(plain) + len(block_info) + 2


def test_a_type_whose_layout_is_unknown_is_refused_by_name(service: Service) -> None:
    query = b"SELECT CAST(1, 'Variant(UInt8, String)') AS v FORMAT Native"
    refused = post(service, query, client_protocol_version="54460")
    assert refused.status_code == 501
    assert refused.headers["x-clickhouse-exception-code"] == "48"
    assert "type Variant(" in refused.text
    assert post(service, query).status_code == 200  # without a protocol revision chdb's Native is answered as is


# --- settings drivers send unasked -----------------------------------------------------------------------------------


def test_a_limit_the_read_only_session_already_enforces_is_served_a_tighter_one_refused(service: Service) -> None:
    """clickhouse-go sends max_execution_time = its context deadline + 5 s; the analyst's session fixes 60 s."""
    for same_or_looser in ("60", "65", "3600", "0"):
        served = post(service, b"SELECT 1", max_execution_time=same_or_looser)
        assert served.status_code == 200, (same_or_looser, served.text)
    tighter = post(service, b"SELECT 1", max_execution_time="10")
    assert tighter.headers["x-clickhouse-exception-code"] == "164"
    assert "max_execution_time" in tighter.text
