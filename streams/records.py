"""A Kafka record as runners hand it to the engine: plain data, whichever client fetched it."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.envelope import EventEnvelope
from schemas.envelope_codec import decode_envelope
from schemas.errors import UnknownSchema
from streams.errors import Undecodable, UnknownSchemaFingerprint


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int
    headers: tuple[tuple[str, bytes], ...] = ()

    @property
    def source(self) -> str:
        """Where the record sits in Kafka, which never changes: the identity of a dead letter."""
        return f"{self.topic}:{self.partition}:{self.offset}"

    @property
    def aggregate_id(self) -> str:
        """The record key (the orderId), readable even when the value is not."""
        return self.key.decode("utf-8", "replace") if self.key is not None else ""

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value.decode("utf-8", "replace")
        return None


def decode(record: Record) -> EventEnvelope:
    """The event in a record, or the `PoisonEvent` that says why there is none."""
    if record.value is None:
        raise Undecodable("the record has no value (a tombstone on the event topic)")
    try:
        return decode_envelope(record.value)
    except UnknownSchema as error:
        raise UnknownSchemaFingerprint(str(error)) from error
    except Exception as error:  # CorruptEvent and anything else the bytes can provoke: never a crash
        raise Undecodable(str(error)) from error
