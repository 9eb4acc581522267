"""Request-body decompression (HTTP `Content-Encoding`), bounded by the size of what it produces.

clickhouse-connect compresses every insert body with its preferred codec (lz4 when installed) whatever the
server announces, so decoding request bodies is mandatory. A few KiB of compressed zeros can expand to gigabytes,
so bodies are decoded frame by frame with each decoder's `max_length` and refused as soon as the output passes the
cap, before it is ever held in memory. Responses are never compressed: the service listens on loopback, where
compression only costs CPU, and the client decodes by Content-Encoding (none here).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any, Protocol

import lz4.frame  # type: ignore[import-untyped]  # a dependency of clickhouse-connect, no type stubs
from backports import zstd  # a dependency of clickhouse-connect (the stdlib module from Python 3.14)

from infra.clickhouse.errors import BAD_ARGUMENTS, CANNOT_DECOMPRESS, UNKNOWN_COMPRESSION_METHOD, ClickHouseError

SUPPORTED_ENCODINGS = ("lz4", "zstd", "gzip", "deflate")


class _Decoder(Protocol):
    """What zstd's, lz4's and (adapted) zlib's streaming decompressors share."""

    eof: bool
    unused_data: bytes

    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


class _ZlibDecoder:
    """zlib's decompressobj keeps input it did not use in `unconsumed_tail`; fed back, it looks like the others."""

    def __init__(self, wbits: int) -> None:
        self._inner = zlib.decompressobj(wbits)

    @property
    def eof(self) -> bool:
        return self._inner.eof

    @property
    def unused_data(self) -> bytes:
        return self._inner.unused_data

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        return self._inner.decompress(self._inner.unconsumed_tail + data, max(max_length, 0))


_DECODERS: dict[str, Callable[[], Any]] = {
    "lz4": lz4.frame.LZ4FrameDecompressor,  # clickhouse-connect sends one frame per Native block
    "zstd": zstd.ZstdDecompressor,
    "gzip": lambda: _ZlibDecoder(16 + zlib.MAX_WBITS),
    "x-gzip": lambda: _ZlibDecoder(16 + zlib.MAX_WBITS),
    "deflate": lambda: _ZlibDecoder(zlib.MAX_WBITS),
}


def _too_large(limit: int) -> ClickHouseError:
    return ClickHouseError.raised_here(
        BAD_ARGUMENTS,
        f"Decompressed request body exceeds max_decompressed_bytes ({limit}); send smaller inserts",
        http_status=413,
    )


def _decode_frames(make: Callable[[], _Decoder], data: bytes, limit: int) -> bytes:
    """Concatenated frames (members), each decoded with at most `limit + 1 - produced` bytes of output."""
    parts: list[bytes] = []
    produced = 0
    remaining = data
    while remaining:
        decoder = make()
        chunk = decoder.decompress(remaining, limit + 1 - produced)
        while True:
            produced += len(chunk)
            if produced > limit:
                raise _too_large(limit)
            parts.append(chunk)
            if decoder.eof:
                break
            chunk = decoder.decompress(b"", limit + 1 - produced)
            if not chunk:
                raise ClickHouseError.raised_here(CANNOT_DECOMPRESS, "Truncated compressed request body")
        remaining = decoder.unused_data
    return b"".join(parts)


def decompress_body(data: bytes, encoding: str | None, limit: int) -> bytes:
    """The decoded body; refused once it would exceed `limit` bytes."""
    codec = (encoding or "").strip().lower()
    if codec in ("", "identity"):
        return data
    make = _DECODERS.get(codec)
    if make is None:
        raise ClickHouseError.raised_here(
            UNKNOWN_COMPRESSION_METHOD,
            f"Unknown Content-Encoding {codec!r}; supported: {', '.join(SUPPORTED_ENCODINGS)}",
        )
    try:
        return _decode_frames(make, data, limit)
    except ClickHouseError:
        raise
    except Exception as exc:  # each codec has its own error type; all mean a corrupt body
        raise ClickHouseError.raised_here(CANNOT_DECOMPRESS, f"Cannot decompress {codec} request body: {exc}") from exc
