"""Errors of the streams package. A `PoisonEvent` parks an event in the DLQ; anything else is retried or fatal."""

from __future__ import annotations

from typing import Any, ClassVar

from infra.errors import CommandFailure


class StreamsError(CommandFailure):
    """Base of the errors raised by the streams package; `exit_code` is what `cqrs` exits with when one ends a
    command."""


class PoisonEvent(StreamsError):
    """An event this projection cannot apply, however often it retries: it goes to the DLQ.

    `reason` is a short stable code that operators filter by, stated in a subclass's header
    (`class VersionGap(PoisonEvent, reason="version-gap")`); the message says what exactly was wrong.
    """

    reason: ClassVar[str] = "poison"

    def __init_subclass__(cls, *, reason: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if reason is not None:
            cls.reason = reason


class Undecodable(PoisonEvent, reason="undecodable"):
    """The record is not an envelope this codec can read (a tombstone, a corrupt or foreign value)."""


class UnknownSchemaFingerprint(PoisonEvent, reason="unknown-schema"):
    """The record was written with a schema this build does not know."""


class VersionGap(PoisonEvent, reason="version-gap"):
    """The event's version skips ahead of the aggregate's last applied one."""


class InvariantViolation(PoisonEvent, reason="invariant"):
    """The event contradicts the state it applies to (a line that does not exist, a total that does not add up)."""


class ParkedBehind(PoisonEvent, reason="parked-behind"):
    """Not wrong itself: an earlier event of the same aggregate is parked, so this one waits behind it."""


class SinkError(StreamsError):
    """A store refused a write for a reason that retrying will not fix (e.g. a mapping error)."""


class UnknownProjection(StreamsError, exit_code=2):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"no projection named {name!r}; known: {', '.join(known)}")
        self.name = name


class TargetError(StreamsError):
    """A read-model target (index, collection, tables) is missing or cannot be switched."""


class MissingTopic(StreamsError, exit_code=3):
    """A topic the projections need does not exist (the broker does not create topics on demand)."""


class Fenced(StreamsError):
    """This worker may no longer write for its partitions (its lease lapsed: another worker may own them now); the
    batch is not written, and the worker restarts rather than trust what it remembers (`streams.ownership`)."""
