"""The body of a delivery: the event envelope as JSON, the same fields (camelCase) as the Avro schema.

Money stays a decimal string (`"99.99"`), never a float; timestamps are ISO 8601 UTC with milliseconds.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from schemas.envelope import EventEnvelope
from schemas.mapping import envelope_to_avro


def render(envelope: EventEnvelope) -> bytes:
    """Compact JSON bytes: exactly what is signed and sent."""
    document = envelope_to_avro(envelope)
    _record_name, data = document["data"]  # fastavro's union tuple: the record name is eventType already
    document["data"] = data
    return json.dumps(document, default=_json_value, separators=(",", ":"), ensure_ascii=False).encode()


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, UUID | Enum):
        return str(value.value if isinstance(value, Enum) else value)
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"cannot render {type(value).__name__} as JSON")
