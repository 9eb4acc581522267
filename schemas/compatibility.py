"""Proof that schema versions can evolve: each version must read data of every earlier one and vice versa.

Backward compatible: the newer version reads data written with the older (consumers upgrade first).
Forward compatible: the older version reads data written with the newer (producers upgrade first).
The proof resolves real data both ways with fastavro, plus a structural pass with clearer messages.
"""

from dataclasses import dataclass
from io import BytesIO
from itertools import combinations
from typing import Any, Literal

from fastavro import schemaless_reader, schemaless_writer

from schemas.catalog import SchemaCatalog, SchemaVersion, default_catalog
from schemas.errors import SchemaError
from schemas.samples import sample_data

Direction = Literal["backward", "forward"]


@dataclass(frozen=True, slots=True)
class Incompatibility:
    """Data written with `writer_version` cannot be read with `reader_version`."""

    record: str
    writer_version: int
    reader_version: int
    direction: Direction
    reason: str

    def __str__(self) -> str:
        return (
            f"{self.record} v{self.reader_version} cannot read v{self.writer_version} ({self.direction}): {self.reason}"
        )


class IncompatibleSchemas(SchemaError):
    """At least one catalog version breaks compatibility with an earlier one."""

    def __init__(self, problems: list[Incompatibility]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems


def check_catalog(catalog: SchemaCatalog | None = None) -> list[Incompatibility]:
    """Every incompatibility between any two versions of the same record, in both directions."""
    catalog = catalog or default_catalog()
    problems: list[Incompatibility] = []
    for record in catalog.records():
        for older, newer in combinations(catalog.versions(record), 2):
            problems += _problems(older, newer, "backward")
            problems += _problems(newer, older, "forward")
    return problems


def assert_catalog_compatible(catalog: SchemaCatalog | None = None) -> None:
    """Raise `IncompatibleSchemas` listing every problem, if there is any."""
    problems = check_catalog(catalog)
    if problems:
        raise IncompatibleSchemas(problems)


def reading_problems(writer: dict[str, Any], reader: dict[str, Any]) -> list[str]:
    """Why `reader` (a fastavro-parsed schema) cannot read data written with `writer`; empty if it can."""
    reasons = _structural_problems(writer, reader)
    for datum in sample_data(writer):
        buffer = BytesIO()
        schemaless_writer(buffer, writer, datum)
        buffer.seek(0)
        try:
            schemaless_reader(buffer, writer, reader)
        except Exception as error:  # fastavro signals a failed resolution with several exception types
            reasons.append(f"resolving a sample failed: {error!r}")
            break
    return reasons


def _problems(writer: SchemaVersion, reader: SchemaVersion, direction: Direction) -> list[Incompatibility]:
    return [
        Incompatibility(writer.record, writer.version, reader.version, direction, reason)
        for reason in reading_problems(writer.schema, reader.schema)
    ]


def _structural_problems(writer: dict[str, Any], reader: dict[str, Any]) -> list[str]:
    """Fields the reader needs but the writer lacks, and enum symbols the reader lacks, per named type."""
    writer_types: dict[str, Any] = writer.get("__named_schemas", {})
    reasons = []
    for name, reader_type in reader.get("__named_schemas", {}).items():
        writer_type = writer_types.get(name)
        if writer_type is None or writer_type["type"] != reader_type["type"]:
            continue  # renamed or retyped: left to the resolution of samples
        if reader_type["type"] == "record":
            written = {field["name"] for field in writer_type["fields"]}
            reasons += [
                f"{name}.{field['name']} is missing in the writer and has no default"
                for field in reader_type["fields"]
                if "default" not in field and not written.intersection([field["name"], *field.get("aliases", ())])
            ]
        elif reader_type["type"] == "enum" and "default" not in reader_type:
            missing = sorted(set(writer_type["symbols"]) - set(reader_type["symbols"]))
            if missing:
                reasons.append(f"{name} lacks symbols {missing} and has no default")
    return reasons
