"""The one place where Python event classes meet Avro records: record names and field-by-field conversion.

Python fields are snake_case, Avro fields camelCase; nested records, arrays of records, optional records and
enums are converted by plans built once per class at import, so a conversion is a loop over precomputed steps.
"""

import dataclasses
import types
from collections.abc import Callable
from enum import Enum
from typing import Any, Union, get_args, get_origin, get_type_hints

from schemas.envelope import EventEnvelope
from schemas.events import ORDER_EVENT_TYPES, OrderEvent

NAMESPACE = "com.example.orders"

EVENT_RECORDS: dict[type[OrderEvent], str] = {cls: f"{NAMESPACE}.{cls.__name__}" for cls in ORDER_EVENT_TYPES}
"""Python event class → full Avro record name (the short names are equal by design)."""
EVENT_CLASSES: dict[str, type[OrderEvent]] = {record: cls for cls, record in EVENT_RECORDS.items()}

_Convert = Callable[[Any], Any]
# (python field, avro field, python→avro or None for as-is, avro→python or None for as-is)
_Step = tuple[str, str, _Convert | None, _Convert | None]


def event_to_avro(event: OrderEvent) -> tuple[str, dict[str, Any]]:
    """An event as fastavro's union tuple notation: (record name, record datum)."""
    return EVENT_RECORDS[type(event)], _to_avro(event)


def event_from_avro(record: str, datum: dict[str, Any]) -> OrderEvent:
    """Build the event class named by `record` from a decoded datum (`KeyError` if the name is unknown)."""
    cls = EVENT_CLASSES[record]
    event: OrderEvent = _from_avro(cls, datum)
    return event


def envelope_to_avro(envelope: EventEnvelope) -> dict[str, Any]:
    """The envelope as a datum of the envelope schema."""
    datum = {avro: getattr(envelope, name) for name, avro in _ENVELOPE_FIELDS}
    datum["eventType"] = envelope.event_type
    datum["data"] = event_to_avro(envelope.data)
    return datum


def envelope_from_avro(datum: dict[str, Any]) -> EventEnvelope:
    """Build an envelope from a decoded datum; `ValueError` if eventType disagrees with the data record."""
    record, data = datum["data"]
    event = event_from_avro(record, data)
    if datum["eventType"] != type(event).__name__:
        raise ValueError(f"eventType {datum['eventType']!r} but data is {record}")
    return EventEnvelope(**{name: datum[avro] for name, avro in _ENVELOPE_FIELDS}, data=event)


def avro_field_name(python_name: str) -> str:
    """`postal_code` → `postalCode`."""
    first, *rest = python_name.split("_")
    return first + "".join(part.capitalize() for part in rest)


_PLANS: dict[type, list[_Step]] = {}


def _to_avro(value: Any) -> dict[str, Any]:
    return {
        avro: getattr(value, name) if out is None else out(getattr(value, name))
        for name, avro, out, _ in _PLANS[type(value)]
    }


def _from_avro(cls: type, datum: dict[str, Any]) -> Any:
    return cls(**{name: datum[avro] if back is None else back(datum[avro]) for name, avro, _, back in _PLANS[cls]})


def _plan(cls: type) -> None:
    if cls in _PLANS:
        return
    hints = get_type_hints(cls)
    _PLANS[cls] = [
        (field.name, avro_field_name(field.name), *_converters(hints[field.name])) for field in dataclasses.fields(cls)
    ]


def _converters(hint: Any) -> tuple[_Convert | None, _Convert | None]:
    """How a field type crosses the boundary: records recurse, enums come back as members, the rest as-is."""
    origin, args = get_origin(hint), get_args(hint)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        _plan(hint)
        record = hint
        return _to_avro, lambda datum: _from_avro(record, datum)
    if origin is tuple and dataclasses.is_dataclass(args[0]):
        out, back = _converters(args[0])
        assert out is not None
        assert back is not None
        return (lambda values: [out(v) for v in values]), (lambda data: tuple(back(d) for d in data))
    if origin in (Union, types.UnionType) and type(None) in args and len(args) == 2:
        (inner,) = (arg for arg in args if arg is not type(None))
        out, back = _converters(inner)
        if out is None or back is None:
            return out, back
        return (lambda v: None if v is None else out(v)), (lambda d: None if d is None else back(d))
    if isinstance(hint, type) and issubclass(hint, Enum):
        return None, hint
    return None, None


for _event_class in ORDER_EVENT_TYPES:
    _plan(_event_class)

_ENVELOPE_FIELDS = [
    (field.name, avro_field_name(field.name)) for field in dataclasses.fields(EventEnvelope) if field.name != "data"
]
"""The envelope's metadata fields, as-is on the wire but camelCase; `data` is the event union, `eventType` derived."""
