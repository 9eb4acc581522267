"""Bytes ⇄ `EventEnvelope`: the outbox payload format, Avro single-object encoded."""

from functools import cache

from schemas.catalog import default_catalog
from schemas.codec import SingleObjectCodec
from schemas.envelope import ENVELOPE_RECORD, EventEnvelope
from schemas.errors import CorruptEvent
from schemas.mapping import envelope_from_avro, envelope_to_avro


@cache
def envelope_codec() -> SingleObjectCodec:
    """The codec for the envelope over the package's catalog, built once per process."""
    return SingleObjectCodec(default_catalog(), ENVELOPE_RECORD)


def encode_envelope(envelope: EventEnvelope) -> bytes:
    """Serialize with the newest envelope schema; raises `EncodingFailed` if a value does not fit it."""
    return envelope_codec().encode(envelope_to_avro(envelope))


def decode_envelope(payload: bytes) -> EventEnvelope:
    """Deserialize bytes written with any published envelope version.

    Raises only `UnknownSchema` (a poison event: route it to the DLQ) or `CorruptEvent`.
    """
    datum = envelope_codec().decode(payload)
    try:
        return envelope_from_avro(datum)
    except (KeyError, TypeError, ValueError) as error:
        raise CorruptEvent(f"envelope does not map to an event: {error!r}") from error
