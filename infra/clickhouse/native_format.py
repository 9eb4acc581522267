"""Native output for clients of a TCP protocol revision: blocks re-framed with the per-block `BlockInfo` and the
per-column "custom serialization" flag that clickhouse-server writes when the request names a
`client_protocol_version`.

chdb writes Native as for revision 0 (neither field), and the official Go driver reads every HTTP answer as the
revision it sends (and later as the server's `revision()`), so its reads fail without them. Inserting them needs
the end of each column's data, so this module walks the column data by type (ClickHouse's serializations in
src/DataTypes/Serializations/): fixed-width values, String, FixedString, Nullable, Array, Map, Tuple,
LowCardinality, Enum, Decimal, geo types. Types whose layout it does not know (Variant, Dynamic, JSON,
AggregateFunction, ...) are refused by name. The data bytes themselves are copied, never decoded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from infra.clickhouse.errors import NOT_IMPLEMENTED, ClickHouseError

# The revision from which clickhouse-server writes the per-column custom serialization flag; below it (e.g.
# clickhouse-connect's probe, 54405) the answer stays as chdb wrote it (see `needs_reframing`).
REVISION_WITH_CUSTOM_SERIALIZATION = 54454
# BlockInfo of an ordinary block: field 1 is_overflows = false, field 2 bucket_num = -1, end marker.
_BLOCK_INFO = b"\x01\x00\x02\xff\xff\xff\xff\x00"

_FIXED_WIDTH = {
    "UInt8": 1, "Int8": 1, "Bool": 1, "Nothing": 1,
    "UInt16": 2, "Int16": 2, "Date": 2, "BFloat16": 2,
    "UInt32": 4, "Int32": 4, "Float32": 4, "Date32": 4, "DateTime": 4, "IPv4": 4, "Decimal32": 4, "Time": 4,
    "UInt64": 8, "Int64": 8, "Float64": 8, "DateTime64": 8, "Decimal64": 8, "Time64": 8,
    "UInt128": 16, "Int128": 16, "UUID": 16, "IPv6": 16, "Decimal128": 16,
    "UInt256": 32, "Int256": 32, "Decimal256": 32,
    "Enum8": 1, "Enum16": 2,
}  # fmt: skip
_ALIASES = {
    "Point": "Tuple(Float64, Float64)",
    "Ring": "Array(Point)",
    "LineString": "Array(Point)",
    "Polygon": "Array(Ring)",
    "MultiLineString": "Array(LineString)",
    "MultiPolygon": "Array(Polygon)",
}
_NAME_RE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(\(|$)")
_ELEMENT_NAME_RE = re.compile(r"(?:`(?:[^`\\]|\\.)*`|[A-Za-z_][A-Za-z0-9_]*)\s+(?=[A-Z])")
_LOW_CARDINALITY_HAS_ADDITIONAL_KEYS = 1 << 9
_INDEX_WIDTH = (1, 2, 4, 8)


@dataclass(frozen=True, slots=True)
class _Type:
    name: str
    arguments: tuple[str, ...] = ()


def _split_arguments(text: str) -> tuple[str, ...]:
    """Top-level comma-separated arguments, respecting parentheses and quotes (Enum8('a,b' = 1))."""
    parts: list[str] = []
    depth = 0
    quote: str | None = None
    start = 0
    index = 0
    while index < len(text):
        char = text[index]
        if quote is not None:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = None
        elif char in "'`\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:index].strip())
            start = index + 1
        index += 1
    parts.append(text[start:].strip())
    return tuple(part for part in parts if part)


def _parse(type_name: str) -> _Type:
    match = _NAME_RE.match(type_name)
    if match is None:
        raise _unsupported(type_name)
    name = match.group(1)
    if name in _ALIASES:
        return _parse(_ALIASES[name])
    if match.group(2) != "(":
        return _Type(name)
    inner = type_name[match.end() : type_name.rstrip().rfind(")")]
    return _Type(name, _split_arguments(inner))


def _unsupported(type_name: str) -> ClickHouseError:
    return ClickHouseError.raised_here(
        NOT_IMPLEMENTED,
        f"Native output for client_protocol_version >= {REVISION_WITH_CUSTOM_SERIALIZATION} does not support "
        f"columns of type {type_name} here; cast the column (e.g. toString) or use another format",
    )


def _element_type(argument: str) -> str:
    """A Tuple element without its name: `a UInt8` → `UInt8`."""
    named = _ELEMENT_NAME_RE.match(argument)
    return argument[named.end() :] if named else argument


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.position = 0

    def take(self, size: int) -> None:
        if size < 0 or self.position + size > len(self.data):
            raise ClickHouseError.raised_here(NOT_IMPLEMENTED, "Native output ends inside a column")
        self.position += size

    def uint64(self) -> int:
        start = self.position
        self.take(8)
        return int.from_bytes(self.data[start : self.position], "little")

    def varint(self) -> int:
        value = shift = 0
        while True:
            if self.position >= len(self.data):
                raise ClickHouseError.raised_here(NOT_IMPLEMENTED, "Native output ends inside a number")
            byte = self.data[self.position]
            self.position += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7

    def string(self) -> str:
        size = self.varint()
        start = self.position
        self.take(size)
        return self.data[start : self.position].decode("utf-8", "surrogateescape")


def _skip_prefix(reader: _Reader, type_name: str) -> None:
    """serializeBinaryBulkStatePrefix: written once per column before its data; only LowCardinality has one
    (its key serialization version), anywhere in the type."""
    kind = _parse(type_name)
    if kind.name == "LowCardinality":
        reader.take(8)
    elif kind.name in ("Array", "Nullable", "SimpleAggregateFunction", "Map", "Tuple"):
        for argument in _nested(kind):
            _skip_prefix(reader, argument)


def _nested(kind: _Type) -> tuple[str, ...]:
    if kind.name == "Map":
        return (f"Tuple({kind.arguments[0]}, {kind.arguments[1]})",)
    if kind.name == "SimpleAggregateFunction":
        return (kind.arguments[-1],)
    if kind.name == "Tuple":
        return tuple(_element_type(argument) for argument in kind.arguments)
    return kind.arguments


def _skip_data(reader: _Reader, type_name: str, rows: int) -> None:
    kind = _parse(type_name)
    name = kind.name
    if rows == 0:
        return
    if name in _FIXED_WIDTH:
        reader.take(_FIXED_WIDTH[name] * rows)
    elif name == "Decimal":
        precision = int(kind.arguments[0])
        reader.take((4 if precision <= 9 else 8 if precision <= 18 else 16 if precision <= 38 else 32) * rows)
    elif name == "FixedString":
        reader.take(int(kind.arguments[0]) * rows)
    elif name == "String" or name == "JSONString":
        _skip_strings(reader, rows)
    elif name == "Nullable":
        reader.take(rows)
        _skip_data(reader, kind.arguments[0], rows)
    elif name in ("Array", "Map"):
        reader.take(8 * rows)
        total = int.from_bytes(reader.data[reader.position - 8 : reader.position], "little")  # the last offset
        _skip_data(reader, _nested(kind)[0], total)
    elif name in ("Tuple", "SimpleAggregateFunction"):
        for element in _nested(kind):
            _skip_data(reader, element, rows)
    elif name == "LowCardinality":
        _skip_low_cardinality(reader, kind.arguments[0], rows)
    else:
        raise _unsupported(type_name)


def _skip_strings(reader: _Reader, rows: int) -> None:
    """The hot loop (per row, not per column): lengths below 128 are one varint byte, so most rows cost one index
    and one addition; longer ones go through the general varint reader."""
    data, position, end = reader.data, reader.position, len(reader.data)
    for _ in range(rows):
        if position >= end:
            raise ClickHouseError.raised_here(NOT_IMPLEMENTED, "Native output ends inside a column")
        length = data[position]
        if length < 0x80:
            position += 1 + length
        else:
            reader.position = position
            length = reader.varint()
            position = reader.position + length
    reader.position = position
    if position > end:
        raise ClickHouseError.raised_here(NOT_IMPLEMENTED, "Native output ends inside a column")


def _skip_low_cardinality(reader: _Reader, inner: str, rows: int) -> None:
    """Granules of [UInt64 flags][UInt64 key count, keys (the dictionary type: Nullable removed)][UInt64 row
    count, indexes] until every row is read."""
    dictionary = _parse(inner)
    dictionary_type = dictionary.arguments[0] if dictionary.name == "Nullable" else inner
    read = 0
    while read < rows:
        flags = reader.uint64()
        if flags & _LOW_CARDINALITY_HAS_ADDITIONAL_KEYS:
            _skip_data(reader, dictionary_type, reader.uint64())
        granule = reader.uint64()
        reader.take(_INDEX_WIDTH[flags & 0xFF] * granule)
        read += granule


def needs_reframing(output_format: str, client_protocol_version: str | None) -> bool:
    if output_format.lower() != "native" or not client_protocol_version:
        return False
    return client_protocol_version.isdigit() and int(client_protocol_version) >= REVISION_WITH_CUSTOM_SERIALIZATION


def reframe(data: bytes) -> bytes:
    """chdb's Native blocks (revision 0) with BlockInfo and each column's custom serialization flag (0) added."""
    reader = _Reader(data)
    out: list[bytes] = []
    while reader.position < len(data):
        block_start = reader.position
        columns = reader.varint()
        rows = reader.varint()
        out.append(_BLOCK_INFO)
        out.append(data[block_start : reader.position])
        for _ in range(columns):
            header_start = reader.position
            reader.string()
            type_name = reader.string()
            out.append(data[header_start : reader.position])
            out.append(b"\x00")  # no custom serialization: chdb writes every column in its default one
            data_start = reader.position
            if rows:
                _skip_prefix(reader, type_name)
                _skip_data(reader, type_name, rows)
            out.append(data[data_start : reader.position])
    return b"".join(out)
