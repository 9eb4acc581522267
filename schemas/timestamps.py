"""Wire precision of timestamps: Avro `timestamp-millis`, always UTC."""

from datetime import UTC, datetime


def to_wire_precision(moment: datetime) -> datetime:
    """Return `moment` in UTC, truncated to whole milliseconds, so it survives an Avro round trip unchanged.

    Raises `ValueError` for a naive datetime: its meaning would depend on the machine's time zone.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("timestamp must be timezone-aware")
    utc = moment.astimezone(UTC)
    return utc.replace(microsecond=utc.microsecond - utc.microsecond % 1000)
