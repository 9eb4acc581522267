"""ClickHouse's own compressed block format, which the official JDBC and Go drivers use over HTTP (`compress=1`:
the server compresses the response; `decompress=1`: the request body is compressed).

A stream is a sequence of blocks, each `[checksum 16][method 1][compressed size 4][uncompressed size 4][data]`:
the checksum is CityHash128 (CityHash v1.0.2, the version ClickHouse pins) of everything after it, written as two
little-endian UInt64 (low half first); both sizes are little-endian UInt32 and the compressed size counts the
9-byte header. Methods: 0x82 LZ4 (a raw LZ4 block), 0x90 ZSTD (one zstd frame), 0x02 none. ClickHouse's
CompressedReadBuffer and CompressedWriteBuffer (src/Compression/) are the reference.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

import lz4.block  # type: ignore[import-untyped]  # a dependency of clickhouse-connect, no type stubs
from backports import zstd
from clickhouse_cityhash.cityhash import CityHash128  # type: ignore[import-untyped]  # C extension, no stubs

from infra.clickhouse.errors import (
    BAD_ARGUMENTS,
    CANNOT_DECOMPRESS,
    CHECKSUM_DOESNT_MATCH,
    TOO_LARGE_SIZE_COMPRESSED,
    UNKNOWN_COMPRESSION_METHOD,
    ClickHouseError,
)

METHOD_NONE = 0x02
METHOD_LZ4 = 0x82
METHOD_ZSTD = 0x90

_CHECKSUM = struct.Struct("<QQ")
_HEADER = struct.Struct("<BII")
_PREFIX = _CHECKSUM.size + _HEADER.size
# clickhouse-server's DBMS_MAX_COMPRESSED_SIZE: a larger size field means a corrupt stream.
MAX_BLOCK_SIZE = 0x40000000
# CompressedWriteBuffer's block: DBMS_DEFAULT_BUFFER_SIZE (1 MiB) of uncompressed data per block.
RESPONSE_BLOCK_SIZE = 1024 * 1024
_MASK64 = (1 << 64) - 1


def checksum(block: bytes | memoryview) -> bytes:
    """The 16 checksum bytes of one block (header + data). The binding returns the 128-bit value with CityHash's
    `first` (ClickHouse's low half, written first) in the high 64 bits."""
    value = CityHash128(bytes(block))
    return _CHECKSUM.pack(value >> 64, value & _MASK64)


def _compress_one(chunk: bytes, method: int, zstd_level: int) -> bytes:
    data: bytes
    if method == METHOD_LZ4:
        data = lz4.block.compress(chunk, store_size=False)
    elif method == METHOD_ZSTD:
        data = zstd.compress(chunk, level=zstd_level)
    else:
        data = chunk
    block = _HEADER.pack(method, _HEADER.size + len(data), len(chunk)) + data
    return checksum(block) + block


def compress_blocks(
    data: bytes, method: int = METHOD_LZ4, *, zstd_level: int = 1, block_size: int = RESPONSE_BLOCK_SIZE
) -> bytes:
    """`data` as compressed blocks of at most `block_size` uncompressed bytes each (nothing for empty data, as
    clickhouse-server sends no block for an empty response). clickhouse-server answers `compress=1` with LZ4
    whatever `network_compression_method` says (that setting is for its native TCP protocol), and so does this
    server; the method is a parameter for tests and request-side tools."""
    view = memoryview(data)
    return b"".join(
        _compress_one(bytes(view[start : start + block_size]), method, zstd_level)
        for start in range(0, len(data), block_size)
    )


def _blocks(data: bytes, verify: bool) -> Iterator[tuple[int, int, memoryview]]:
    """(method, uncompressed size, payload) of each block, checksums verified unless `verify` is false."""
    view = memoryview(data)
    position = 0
    while position < len(data):
        if len(data) - position < _PREFIX:
            raise ClickHouseError.raised_here(CANNOT_DECOMPRESS, "Truncated compressed block header")
        method, compressed_size, uncompressed_size = _HEADER.unpack_from(view, position + _CHECKSUM.size)
        for field, size in (("size_compressed", compressed_size), ("size_decompressed", uncompressed_size)):
            if size > MAX_BLOCK_SIZE:
                raise ClickHouseError.raised_here(
                    TOO_LARGE_SIZE_COMPRESSED, f"Too large {field}: {size}. Most likely corrupted data"
                )
        if compressed_size < _HEADER.size:
            raise ClickHouseError.raised_here(CANNOT_DECOMPRESS, f"Invalid compressed block size {compressed_size}")
        end = position + _CHECKSUM.size + compressed_size
        if end > len(data):
            raise ClickHouseError.raised_here(CANNOT_DECOMPRESS, "Truncated compressed block")
        block = view[position + _CHECKSUM.size : end]
        if verify and checksum(block) != view[position : position + _CHECKSUM.size]:
            raise ClickHouseError.raised_here(
                CHECKSUM_DOESNT_MATCH, "Checksum doesn't match: corrupted data in the compressed request body"
            )
        yield method, uncompressed_size, block[_HEADER.size :]
        position = end


def decompress_blocks(data: bytes, limit: int, *, verify: bool = True) -> bytes:
    """The decompressed request body; refused once it would exceed `limit` bytes (each block's header states its
    size, so nothing larger is ever produced). `verify=False` is clickhouse-server's
    `http_native_compression_disable_checksumming_on_decompress`."""
    parts: list[bytes] = []
    produced = 0
    for method, size, payload in _blocks(data, verify):
        produced += size
        if produced > limit:
            raise ClickHouseError.raised_here(
                BAD_ARGUMENTS,
                f"Decompressed request body exceeds max_decompressed_bytes ({limit}); send smaller inserts",
                http_status=413,
            )
        parts.append(_decompress_one(method, size, payload))
    return b"".join(parts)


def _decompress_one(method: int, size: int, payload: memoryview) -> bytes:
    try:
        if method == METHOD_LZ4:
            chunk: bytes = lz4.block.decompress(payload, uncompressed_size=size)
        elif method == METHOD_ZSTD:
            chunk = zstd.ZstdDecompressor().decompress(payload, max_length=size)
        elif method == METHOD_NONE:
            chunk = bytes(payload)
        else:
            raise ClickHouseError.raised_here(
                UNKNOWN_COMPRESSION_METHOD,
                f"Unknown compression method 0x{method:02x} in a compressed block; supported: LZ4 (0x82), "
                "ZSTD (0x90), NONE (0x02)",
            )
    except ClickHouseError:
        raise
    except Exception as exc:  # each codec has its own error type; all mean a corrupt block
        raise ClickHouseError.raised_here(CANNOT_DECOMPRESS, f"Cannot decompress block: {exc}") from exc
    if len(chunk) != size:
        raise ClickHouseError.raised_here(
            CANNOT_DECOMPRESS, f"Block decompressed to {len(chunk)} bytes, its header says {size}"
        )
    return chunk
