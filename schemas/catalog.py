"""Every published Avro schema version, indexed by fingerprint: this repository is the schema registry.

Files live in `schemas/avro/` as `<record_in_snake_case>.v<N>.avsc`, one self-contained schema each. A
published file is never edited or deleted (only its docs may change: they are not part of the fingerprint); a
change is a new file with the next version number, proven compatible by `schemas.compatibility`.
"""

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from fastavro import parse_schema
from fastavro.schema import fingerprint, to_parsing_canonical_form

from schemas.errors import CatalogError, UnknownSchema

FINGERPRINT_ALGORITHM = "CRC-64-AVRO"
_FILE_NAME = re.compile(r"^(?P<stem>[a-z][a-z0-9_]*)\.v(?P<version>[1-9][0-9]*)\.avsc$")
_CAMEL_BOUNDARY = re.compile(r"(?<!^)(?=[A-Z])")


@dataclass(frozen=True, slots=True)
class SchemaVersion:
    """One published version of one record schema."""

    record: str
    """Full name, e.g. `com.example.orders.OrderEventEnvelope`."""
    version: int
    file_name: str
    schema: dict[str, Any]
    """Parsed by fastavro once; pass it straight to fastavro's readers and writers."""
    canonical_form: str
    fingerprint: bytes
    """CRC-64-AVRO of the Parsing Canonical Form, 8 bytes little-endian (as single-object encoding has it)."""


def load_schema_version(file_name: str, text: str) -> SchemaVersion:
    """Parse one `.avsc` file; its name must be `<record_in_snake_case>.v<N>.avsc`."""
    match = _FILE_NAME.match(file_name)
    if match is None:
        raise CatalogError(f"{file_name}: expected <record_in_snake_case>.v<N>.avsc")
    raw = json.loads(text)
    parsed = parse_schema(raw)
    if not isinstance(parsed, dict) or parsed.get("type") != "record":
        raise CatalogError(f"{file_name}: a catalog schema must be a record")
    record = str(parsed["name"])
    if _snake_case(record.rsplit(".", 1)[-1]) != match["stem"]:
        raise CatalogError(f"{file_name}: file name does not match record {record}")
    canonical = to_parsing_canonical_form(raw)
    return SchemaVersion(
        record=record,
        version=int(match["version"]),
        file_name=file_name,
        schema=parsed,
        canonical_form=canonical,
        fingerprint=bytes.fromhex(fingerprint(canonical, FINGERPRINT_ALGORITHM)),
    )


class SchemaCatalog:
    """Schema versions by fingerprint and by record; immutable after construction."""

    def __init__(self, versions: Iterable[SchemaVersion]) -> None:
        self._by_fingerprint: dict[bytes, SchemaVersion] = {}
        by_record: dict[str, list[SchemaVersion]] = {}
        for version in versions:
            clash = self._by_fingerprint.setdefault(version.fingerprint, version)
            if clash is not version:
                raise CatalogError(f"{version.file_name} has the same fingerprint as {clash.file_name}")
            by_record.setdefault(version.record, []).append(version)
        self._by_record = {record: _in_order(record, found) for record, found in by_record.items()}

    @classmethod
    def from_package(cls, package: str = "schemas", folder: str = "avro") -> "SchemaCatalog":
        """Load every `.avsc` file shipped in `package/folder` (works from a checkout and when installed)."""
        directory = files(package).joinpath(folder)
        return cls(
            load_schema_version(entry.name, entry.read_text(encoding="utf-8"))
            for entry in directory.iterdir()
            if entry.name.endswith(".avsc")
        )

    def by_fingerprint(self, fingerprint: bytes) -> SchemaVersion:
        """The version with this fingerprint, else `UnknownSchema`."""
        try:
            return self._by_fingerprint[fingerprint]
        except KeyError:
            raise UnknownSchema(fingerprint) from None

    def versions(self, record: str) -> tuple[SchemaVersion, ...]:
        """All versions of `record`, oldest first."""
        try:
            return self._by_record[record]
        except KeyError:
            raise CatalogError(f"no schema for record {record}") from None

    def latest(self, record: str) -> SchemaVersion:
        """The newest version of `record`: what producers write and consumers read into."""
        return self.versions(record)[-1]

    def records(self) -> tuple[str, ...]:
        """Full names of all records in the catalog."""
        return tuple(sorted(self._by_record))

    def __iter__(self) -> Iterator[SchemaVersion]:
        for record in self.records():
            yield from self._by_record[record]


@cache
def default_catalog() -> SchemaCatalog:
    """The catalog of this package's schema files, loaded once per process."""
    return SchemaCatalog.from_package()


def _in_order(record: str, versions: list[SchemaVersion]) -> tuple[SchemaVersion, ...]:
    ordered = tuple(sorted(versions, key=lambda v: v.version))
    # A gap means a published version was deleted; its events could no longer be read.
    if [v.version for v in ordered] != list(range(1, len(ordered) + 1)):
        raise CatalogError(f"versions of {record} must be 1..N without gaps or duplicates")
    return ordered


def _snake_case(name: str) -> str:
    return _CAMEL_BOUNDARY.sub("_", name).lower()
