"""HTTP compression: request bodies (`Content-Encoding`), decoded with a bound on what they produce, and responses
(`Accept-Encoding`, unless `enable_http_compression=0`, as clickhouse-server does).

clickhouse-connect compresses every insert body with its preferred codec (lz4 when installed) whatever the
server announces, so decoding request bodies is mandatory. A few KiB of compressed zeros can expand to gigabytes,
so bodies are decoded frame by frame with each decoder's `max_length` and refused as soon as the output passes the
cap, before it is ever held in memory. Responses are compressed when the client's Accept-Encoding names a method
and `enable_http_compression` is not 0 (its default is 1 in this ClickHouse version), with the first method of
clickhouse-server's preference order that the client accepts and this server has (br and snappy are not here: a
client offering only those gets an uncompressed answer, which HTTP allows).
"""

from __future__ import annotations

import bz2
import lzma
import zlib
from collections.abc import Callable
from typing import Any, Protocol

import lz4.frame  # type: ignore[import-untyped]  # a dependency of clickhouse-connect, no type stubs
from backports import zstd  # a dependency of clickhouse-connect (the stdlib module from Python 3.14)

from infra.clickhouse.errors import BAD_ARGUMENTS, CANNOT_DECOMPRESS, UNKNOWN_COMPRESSION_METHOD, ClickHouseError

SUPPORTED_ENCODINGS = ("lz4", "zstd", "gzip", "deflate", "xz", "bz2")


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
    "xz": lzma.LZMADecompressor,
    "bz2": bz2.BZ2Decompressor,
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


# clickhouse-server's chooseHTTPCompressionMethod order (src/IO/CompressionMethod.cpp), less br and snappy.
RESPONSE_ENCODINGS = ("zstd", "lz4", "gzip", "deflate", "xz", "bz2")
# clickhouse-server's default `http_zlib_compression_level`; it sets the level of every method here.
DEFAULT_RESPONSE_LEVEL = 3


def choose_response_encoding(accept_encoding: str) -> str | None:
    """The Content-Encoding of a compressed answer, or None when the client accepts none this server has."""
    offered = {token.split(";")[0].strip().lower() for token in accept_encoding.split(",")}
    return next((name for name in RESPONSE_ENCODINGS if name in offered), None)


def encode_response(body: bytes, encoding: str, level: int = DEFAULT_RESPONSE_LEVEL) -> bytes:
    if encoding == "zstd":
        return zstd.compress(body, level=min(max(level, 1), 22))
    if encoding == "lz4":
        return bytes(lz4.frame.compress(body))
    if encoding == "gzip":
        return _zlib_encode(body, 16 + zlib.MAX_WBITS, level)
    if encoding == "deflate":  # HTTP's "deflate" is the zlib format, as clickhouse-server sends it
        return _zlib_encode(body, zlib.MAX_WBITS, level)
    if encoding == "xz":
        return lzma.compress(body, preset=min(max(level, 0), 9))
    if encoding == "bz2":
        return bz2.compress(body, compresslevel=min(max(level, 1), 9))
    raise ValueError(f"unsupported response encoding {encoding!r}")


def _zlib_encode(body: bytes, wbits: int, level: int) -> bytes:
    encoder = zlib.compressobj(min(max(level, 0), 9), zlib.DEFLATED, wbits)
    return encoder.compress(body) + encoder.flush()
