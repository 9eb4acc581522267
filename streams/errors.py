"""Errors of the streams package. A `PoisonEvent` parks an event in the DLQ; anything else is retried or fatal."""

from __future__ import annotations


class StreamsError(Exception):
    """Base of the errors raised by the streams package."""

    exit_code = 1
    """What `cqrs` exits with when this error ends a command."""


class PoisonEvent(StreamsError):
    """An event this projection cannot apply, however often it retries: it goes to the DLQ.

    `reason` is a short stable code (`undecodable`, `unknown-schema`, `version-gap`, `invariant`, `parked-behind`)
    that operators filter by; the message says what exactly was wrong.
    """

    reason = "poison"


class Undecodable(PoisonEvent):
    reason = "undecodable"


class UnknownSchemaFingerprint(PoisonEvent):
    reason = "unknown-schema"


class VersionGap(PoisonEvent):
    reason = "version-gap"


class InvariantViolation(PoisonEvent):
    """The event contradicts the state it applies to (a line that does not exist, a total that does not add up)."""

    reason = "invariant"


class ParkedBehind(PoisonEvent):
    """Not wrong itself: an earlier event of the same aggregate is parked, so this one waits behind it."""

    reason = "parked-behind"


class SinkError(StreamsError):
    """A store refused a write for a reason that retrying will not fix (e.g. a mapping error)."""


class UnknownProjection(StreamsError):
    exit_code = 2

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"no projection named {name!r}; known: {', '.join(known)}")
        self.name = name


class TargetError(StreamsError):
    """A read-model target (index, collection, tables) is missing or cannot be switched."""


class MissingTopic(StreamsError):
    """A topic the projections need does not exist (the broker does not create topics on demand)."""

    exit_code = 3
