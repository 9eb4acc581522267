"""Response bodies of `GET /commands/{commandId}`: the stored outcome plus its trace (writer/trace/model.py builds
the JSON; these models document it in the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from writer.api.models import ApiModel, CommandOutcome

TraceState = Literal["accepted", "relayed", "applied", "parked", "failed"]


class RelayPosition(ApiModel):
    topic: str
    partition: int
    offsets: list[int]
    at: datetime


class DeadLetter(ApiModel):
    reason: str
    error: str
    version: int | None
    parked_at: str
    partition: int
    offset: int


class ProjectionTrace(ApiModel):
    state: TraceState
    applied_version: int | None
    applied_at: datetime | None
    parked: DeadLetter | None = None
    cause: DeadLetter | None = None


class CommandTraceBody(ApiModel):
    state: TraceState
    relay: RelayPosition | None
    projections: dict[str, ProjectionTrace]
    failure: str | None = None
    relay_problem: str | None = None
    unknown: list[str] | None = None


class TracedCommand(CommandOutcome):
    trace: CommandTraceBody | None = None
    """Absent where the writer does not trace (an app built on an in-memory store)."""
