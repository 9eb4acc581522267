"""Avro single-object encoding: `C3 01`, the writer schema's 8-byte CRC-64-AVRO fingerprint, the binary body.

https://avro.apache.org/docs/1.11.1/specification/#single-object-encoding
"""

from io import BytesIO
from typing import Any

from fastavro import schemaless_reader, schemaless_writer

from schemas.catalog import SchemaCatalog, SchemaVersion
from schemas.errors import CorruptEvent, EncodingFailed, UnknownSchema

MARKER = b"\xc3\x01"
HEADER_SIZE = len(MARKER) + 8


class SingleObjectCodec:
    """Encodes with the newest version of one record; decodes any catalog version of it into the newest.

    Costly work (parsing, fingerprints) happens once, in the catalog; a call only writes or reads the body.
    """

    def __init__(self, catalog: SchemaCatalog, record: str) -> None:
        self._catalog = catalog
        self._record = record
        self._writer = catalog.latest(record)
        self._header = MARKER + self._writer.fingerprint

    @property
    def writer(self) -> SchemaVersion:
        """The schema version `encode` writes with."""
        return self._writer

    def encode(self, datum: dict[str, Any]) -> bytes:
        """Serialize a datum shaped like the newest schema; `EncodingFailed` if it does not fit."""
        buffer = BytesIO()
        buffer.write(self._header)
        try:
            schemaless_writer(buffer, self._writer.schema, datum)
        except Exception as error:  # fastavro raises assorted types for values that do not fit
            raise EncodingFailed(f"cannot encode as {self._record}: {error!r}") from error
        return buffer.getvalue()

    def decode(self, payload: bytes) -> dict[str, Any]:
        """Read a payload written with any catalog version of the record, resolved to the newest version.

        Raises only `UnknownSchema` (fingerprint not in the catalog) or `CorruptEvent` (anything else wrong).
        """
        writer = self._writer_of(payload)
        reader_schema = None if writer is self._writer else self._writer.schema
        body = BytesIO(payload)
        body.seek(HEADER_SIZE)
        try:
            datum = schemaless_reader(
                body,
                writer.schema,
                reader_schema,
                return_record_name=True,
                return_record_name_override=True,
            )
        except Exception as error:  # garbage bytes make fastavro fail in many ways; all mean "corrupt"
            raise CorruptEvent(f"unreadable {self._record} body: {error!r}") from error
        if body.tell() != len(payload):
            raise CorruptEvent(f"{len(payload) - body.tell()} bytes after the end of the {self._record} body")
        if not isinstance(datum, dict):
            raise CorruptEvent(f"{self._record} body is not a record")
        return datum

    def _writer_of(self, payload: bytes) -> SchemaVersion:
        if len(payload) < HEADER_SIZE:
            raise CorruptEvent(f"{len(payload)} bytes is shorter than the single-object header")
        if payload[:2] != MARKER:
            raise CorruptEvent(f"bad single-object marker {payload[:2].hex()}")
        fingerprint = payload[2:HEADER_SIZE]
        writer = self._catalog.by_fingerprint(fingerprint)
        if writer.record != self._record:
            raise UnknownSchema(fingerprint, f"a {writer.record} schema, not {self._record}")
        return writer
