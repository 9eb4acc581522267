"""An envelope schema version the catalog does not know yet: events written with it are 'unknown schema' poison
until the consumer is upgraded with it, which `upgraded_decoder` stands in for."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files

from schemas.catalog import SchemaCatalog, default_catalog, load_schema_version
from schemas.codec import SingleObjectCodec
from schemas.envelope import ENVELOPE_RECORD, EventEnvelope
from schemas.mapping import envelope_from_avro, envelope_to_avro
from streams.errors import UnknownSchemaFingerprint
from streams.records import Record


@cache
def _future_catalog() -> SchemaCatalog:
    text = files("schemas").joinpath("avro/order_event_envelope.v1.avsc").read_text()
    schema = json.loads(text)
    schema["fields"].append({"name": "tenant", "type": "string", "default": "default"})
    future = load_schema_version("order_event_envelope.v2.avsc", json.dumps(schema))
    return SchemaCatalog([*default_catalog(), future])


def encode_with_future_schema(envelope: EventEnvelope) -> bytes:
    datum = envelope_to_avro(envelope) | {"tenant": "acme", "schemaVersion": 2}
    return SingleObjectCodec(_future_catalog(), ENVELOPE_RECORD).encode(datum)


def upgraded_decoder(record: Record) -> EventEnvelope:
    """What an upgraded consumer decodes with: the catalog including the new version (extra field dropped)."""
    from streams.records import decode

    try:
        return decode(record)
    except UnknownSchemaFingerprint:
        assert record.value is not None
        datum = SingleObjectCodec(_future_catalog(), ENVELOPE_RECORD).decode(record.value)
        datum.pop("tenant")
        return envelope_from_avro(datum)
