"""The trace of one command, as `GET /commands/{commandId}` answers it (camelCase JSON, like every writer answer).

States, in the order a command goes through them: `accepted` (committed with its events in the write model),
`relayed` (its events are in the event topic), `applied` (a projection shows the order at the command's version or
later). `parked`: a projection put the command's event, or an earlier event of the order it waits behind, in its
dead-letter topic. `failed`: its events can never be relayed (the relay's replication slot was lost before them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

State = Literal["accepted", "relayed", "applied", "parked", "failed"]


@dataclass(frozen=True, slots=True)
class Relayed:
    """Where the relay put the command's events: one partition (the order's key), their offsets in order."""

    topic: str
    partition: int
    offsets: tuple[int, ...]
    timestamp_ms: int
    """The first event's record timestamp."""

    def as_json(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "partition": self.partition,
            "offsets": list(self.offsets),
            "at": _iso(self.timestamp_ms),
        }


@dataclass(frozen=True, slots=True)
class Parked:
    """A dead letter that holds the command back in one projection."""

    reason: str
    """`undecodable`, `unknown-schema`, `version-gap`, `invariant`, … or `parked-behind` (an earlier event of the
    order is parked, and this one waits behind it)."""
    error: str
    version: int | None
    """The parked event's version (None: it could not even be decoded)."""
    parked_at: str
    partition: int
    offset: int

    def as_json(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "error": self.error,
            "version": self.version,
            "parkedAt": self.parked_at,
            "partition": self.partition,
            "offset": self.offset,
        }


@dataclass(frozen=True, slots=True)
class ProjectionProgress:
    name: str
    state: State
    applied_version: int | None
    """What the projection shows of the order now (None: nothing yet, or its mirror does not know)."""
    applied_at_ms: int | None = None
    """When this process saw the projection announce the command's version; None when it did not watch then."""
    parked: Parked | None = None
    cause: Parked | None = None
    """For a `parked-behind` letter: the first parked event of the order, the one to fix."""

    def as_json(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"state": self.state, "appliedVersion": self.applied_version}
        answer["appliedAt"] = _iso(self.applied_at_ms) if self.applied_at_ms is not None else None
        if self.parked is not None:
            answer["parked"] = self.parked.as_json()
        if self.cause is not None:
            answer["cause"] = self.cause.as_json()
        return answer


@dataclass(frozen=True, slots=True)
class CommandTrace:
    outcome: Mapping[str, Any]
    """The stored outcome, as `GET /commands/{commandId}` always answered it."""
    relayed: Relayed | None
    projections: Sequence[ProjectionProgress]
    failure: str | None = None
    """Why the command's events can never arrive (state `failed`)."""
    relay_problem: str | None = None
    """Why the relay does not relay now (its connector or slot), when the events are not relayed yet."""
    unknown: Sequence[str] = ()
    """What could not be looked up just now (Kafka or Redis unreachable): those parts are reported as not reached."""

    @property
    def state(self) -> State:
        """The furthest state every projection agrees on: `applied` once all show the command, `parked` if any holds
        it back, else `relayed` or `accepted`."""
        if self.failure is not None:
            return "failed"
        states = {progress.state for progress in self.projections}
        if "parked" in states:
            return "parked"
        if self.projections and states == {"applied"}:
            return "applied"
        return "relayed" if self.relayed is not None or "applied" in states else "accepted"

    def as_json(self) -> dict[str, Any]:
        trace: dict[str, Any] = {
            "state": self.state,
            "relay": self.relayed.as_json() if self.relayed is not None else None,
            "projections": {progress.name: progress.as_json() for progress in self.projections},
        }
        if self.failure is not None:
            trace["failure"] = self.failure
        if self.relay_problem is not None:
            trace["relayProblem"] = self.relay_problem
        if self.unknown:
            trace["unknown"] = list(self.unknown)
        return {**self.outcome, "trace": trace}


def _iso(timestamp_ms: int) -> str:
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
