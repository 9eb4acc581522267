"""Errors of the schemas package: every failure to encode, decode or evolve a schema is a `SchemaError`."""


class SchemaError(Exception):
    """Base of all errors raised by the schemas package."""


class UnknownSchema(SchemaError):
    """The writer schema's fingerprint is not in the catalog (or names another record): a poison event."""

    def __init__(self, fingerprint: bytes, detail: str = "not in the schema catalog") -> None:
        super().__init__(f"writer schema {fingerprint.hex()} is {detail}")
        self.fingerprint = fingerprint


class CorruptEvent(SchemaError):
    """The bytes are not a valid single-object encoded event: bad marker, truncated, or an unreadable body."""


class EncodingFailed(SchemaError):
    """A value does not fit the writer schema (e.g. money with more digits than the decimal allows)."""


class CatalogError(SchemaError):
    """The schema files themselves are inconsistent (bad file name, duplicate version or fingerprint)."""


class InconsistentHistory(SchemaError, ValueError):
    """An order's events contradict each other (created twice, a line removed that it lacks, a total that does not
    add up): no fold of them makes an order (`schemas.order_state`)."""
