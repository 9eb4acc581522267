"""Sample data for any Avro schema, covering every union branch and enum symbol at least once.

Compatibility is proven by writing these samples with one version and reading them with another, so the
samples must reach every part of the schema a real event could use.
"""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

_NAMED_TYPES = {"record", "error", "enum", "fixed"}
_PRIMITIVES: dict[str, Any] = {
    "null": None,
    "boolean": True,
    "int": 7,
    "long": 1_700_000_000_123,
    "float": 1.5,
    "double": 2.5,
    "bytes": b"\x00\x01",
    "string": "sample",
}
_LOGICAL: dict[str, Any] = {
    "uuid": UUID("00000000-0000-4000-8000-000000000001"),
    "timestamp-millis": datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
    "timestamp-micros": datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
    "date": datetime(2024, 1, 2, tzinfo=UTC).date(),
}


def sample_data(schema: dict[str, Any]) -> list[Any]:
    """Data valid for the fastavro-parsed `schema`; together the samples use every branch and symbol."""
    return _Sampler(schema.get("__named_schemas", {})).variants(schema)


class _Sampler:
    def __init__(self, named: dict[str, Any]) -> None:
        self._named = named
        self._expanding: set[str] = set()

    def variants(self, schema: Any) -> list[Any]:
        if isinstance(schema, list):
            return [(_branch_name(branch), value) for branch in schema for value in self.variants(branch)]
        if isinstance(schema, str):
            return self.variants(self._named[schema]) if schema in self._named else [_PRIMITIVES[schema]]
        kind = schema["type"]
        if not isinstance(kind, str):
            return self.variants(kind)
        if "logicalType" in schema:
            return [_logical_sample(schema)]
        if kind in ("record", "error"):
            return self._records(schema)
        if kind == "enum":
            return list(schema["symbols"])
        if kind == "fixed":
            return [bytes(schema["size"])]
        if kind == "array":
            return [[], self.variants(schema["items"])]
        if kind == "map":
            return [{}, {f"k{i}": value for i, value in enumerate(self.variants(schema["values"]))}]
        return [_PRIMITIVES[kind]]

    def _records(self, schema: dict[str, Any]) -> list[dict[str, Any]]:
        name = schema["name"]
        if name in self._expanding:
            raise ValueError(f"recursive record {name} is not supported by the sampler")
        self._expanding.add(name)
        try:
            per_field = [(field["name"], self.variants(field["type"])) for field in schema["fields"]]
        finally:
            self._expanding.discard(name)
        # As many records as the most varied field has variants; the other fields cycle through theirs.
        count = max((len(values) for _, values in per_field), default=1)
        return [{field: values[i % len(values)] for field, values in per_field} for i in range(count)]


def _branch_name(branch: Any) -> str:
    """The name fastavro's union tuple notation expects, so each sample is written to its own branch."""
    if isinstance(branch, str):
        return branch
    kind = branch["type"]
    if kind in _NAMED_TYPES:
        return str(branch["name"])
    return kind if isinstance(kind, str) else _branch_name(kind)


def _logical_sample(schema: dict[str, Any]) -> Any:
    logical = schema["logicalType"]
    if logical == "decimal":
        scale = int(schema.get("scale", 0))
        digits = min(int(schema["precision"]), 12)
        return Decimal(10**digits - 1).scaleb(-scale)
    if logical in _LOGICAL:
        return _LOGICAL[logical]
    return _PRIMITIVES[schema["type"]]
