"""Request-body decompression (HTTP `Content-Encoding`).

clickhouse-connect compresses every insert body with its preferred codec (lz4 when installed) whatever the
server announces, so decoding request bodies is mandatory. Responses are never compressed: the service listens
on loopback, where compression only costs CPU, and the client decodes by Content-Encoding (none here).
"""

from __future__ import annotations

import gzip
import zlib

import lz4.frame  # type: ignore[import-untyped]  # a dependency of clickhouse-connect, no type stubs
from backports import zstd  # a dependency of clickhouse-connect (the stdlib module from Python 3.14)

from infra.clickhouse.errors import CANNOT_DECOMPRESS, UNKNOWN_COMPRESSION_METHOD, ClickHouseError

SUPPORTED_ENCODINGS = ("lz4", "zstd", "gzip", "deflate")


def _lz4_frames(data: bytes) -> bytes:
    """clickhouse-connect compresses each Native block as its own LZ4 frame, so a body is several frames."""
    parts: list[bytes] = []
    remaining = data
    while remaining:
        decompressor = lz4.frame.LZ4FrameDecompressor()
        parts.append(decompressor.decompress(remaining))
        if not decompressor.eof:
            raise ClickHouseError.raised_here(CANNOT_DECOMPRESS, "Truncated lz4 frame in request body")
        remaining = decompressor.unused_data
    return b"".join(parts)


def decompress_body(data: bytes, encoding: str | None) -> bytes:
    codec = (encoding or "").strip().lower()
    if codec in ("", "identity"):
        return data
    try:
        if codec == "lz4":
            return _lz4_frames(data)
        if codec == "zstd":
            return zstd.decompress(data)  # handles concatenated frames
        if codec in ("gzip", "x-gzip"):
            return gzip.decompress(data)  # handles concatenated members
        if codec == "deflate":
            return zlib.decompress(data)
    except ClickHouseError:
        raise
    except Exception as exc:  # each codec has its own error type; all mean a corrupt body
        raise ClickHouseError.raised_here(CANNOT_DECOMPRESS, f"Cannot decompress {codec} request body: {exc}") from exc
    raise ClickHouseError.raised_here(
        UNKNOWN_COMPRESSION_METHOD,
        f"Unknown Content-Encoding {codec!r}; supported: {', '.join(SUPPORTED_ENCODINGS)}",
    )
