"""Run the lines of a batch through the command handler, a chunk of lines at a time (`CommandHandler.handle_many`:
with the Postgres store, one transaction per chunk), each line with its own idempotency key and its own outcome,
lines in file order (so lines on the same order apply in file order), results in input order.

A line's result is the one `POST /commands/<name>` would give for it after the lines before it: same status,
problem or version. Results of a chunk are sent once it is committed: a result never reports what a later failure
could still undo.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any
from uuid import uuid4

import structlog

from servicekit.principals import Principal
from servicekit.problems import Problem
from writer.api import idempotency, metrics
from writer.api.problems import problem_for
from writer.api.submit import accepted_response
from writer.batch.lines import BadLine, CommandLine
from writer.handlers import CommandContext, CommandHandler
from writer.ports import Accepted, IdempotencyClaim, Replayed

log = structlog.get_logger("writer.batch")


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchContext:
    principal: Principal
    correlation_id: str
    """The batch request's: every command of one import shares it (one external request caused them all)."""
    idempotency_ttl_s: int


class BatchApplier:
    def __init__(self, handler: CommandHandler, context: BatchContext, *, lines_per_transaction: int) -> None:
        self._handler = handler
        self._context = context
        self._chunk = lines_per_transaction

    async def results(self, lines: Iterable[CommandLine | BadLine]) -> AsyncIterator[dict[str, Any]]:
        """One result document per line, in input order, a chunk at a time. If the client goes away, the chunk in
        flight is rolled back (each chunk is atomic; a re-run of the file completes it)."""
        for chunk in _chunks(iter(lines), self._chunk):
            for result in await self._apply(chunk):
                yield result

    async def _apply(self, chunk: list[CommandLine | BadLine]) -> list[dict[str, Any]]:
        commands = [line for line in chunk if isinstance(line, CommandLine)]
        started = time.perf_counter()
        outcomes: list[Accepted | Replayed | Exception]
        try:
            outcomes = await self._handler.handle_many([(line.command, self._context_of(line)) for line in commands])
        except Exception as error:  # the store is unavailable: every command of the chunk failed alike
            outcomes = [error] * len(commands)
        elapsed = time.perf_counter() - started
        by_line = {line.number: (line, outcome) for line, outcome in zip(commands, outcomes, strict=True)}
        return [
            _rejected(line.number, problem_for(line.error))
            if isinstance(line, BadLine)
            else _result(*by_line[line.number], elapsed)
            for line in chunk
        ]

    def _context_of(self, line: CommandLine) -> CommandContext:
        claim = IdempotencyClaim(
            scope=self._context.principal.subject,
            key=line.idempotency_key,
            # The single-command route's path: a line and `POST /commands/<name>` with the same key and body are
            # the same request, whichever way it came first.
            fingerprint=idempotency.fingerprint("POST", f"/commands/{line.name}", line.body, None),
            ttl_s=self._context.idempotency_ttl_s,
            respond=accepted_response,
        )
        return CommandContext(
            principal=self._context.principal,
            command_id=uuid4(),
            correlation_id=self._context.correlation_id,
            idempotency=claim,
        )


def _chunks(lines: Iterator[CommandLine | BadLine], size: int) -> Iterator[list[CommandLine | BadLine]]:
    while chunk := list(islice(lines, size)):
        yield chunk


def _result(line: CommandLine, outcome: Accepted | Replayed | Exception, elapsed: float) -> dict[str, Any]:
    """The line's result document, counted in the metrics like a single command (its latency: its chunk's)."""
    if isinstance(outcome, Exception):
        problem = problem_for(outcome)
        metrics.record_command(line.name, problem.slug, elapsed)
        if problem.status >= 500:
            log.error("batch.line_failed", line=line.number, problem=problem.slug, exc_info=outcome)
        return _rejected(line.number, problem)
    if isinstance(outcome, Accepted):
        metrics.record_command(line.name, "accepted", elapsed)
        for event in outcome.events:
            metrics.EVENTS_STORED.labels(event.event_type).inc()
        return _accepted(line.number, str(outcome.command_id), outcome.aggregate_id, outcome.version, replayed=False)
    metrics.record_command(line.name, "replayed", elapsed)
    response = json.loads(outcome.response.body)
    return _accepted(line.number, response["commandId"], response["aggregateId"], response["version"], replayed=True)


def _accepted(number: int, command_id: str, aggregate_id: str, version: int, *, replayed: bool) -> dict[str, Any]:
    return {
        "line": number,
        "status": 202,
        "outcome": "replayed" if replayed else "accepted",
        "commandId": command_id,
        "aggregateId": aggregate_id,
        "version": version,
    }


def _rejected(number: int, problem: Problem) -> dict[str, Any]:
    document: dict[str, Any] = {"type": problem.type, "title": problem.title, "detail": problem.detail}
    if problem.errors:
        document["errors"] = [{"field": error.field, "message": error.message} for error in problem.errors]
    document.update(problem.extensions)
    outcome = "failed" if problem.status >= 500 else "rejected"
    return {"line": number, "status": problem.status, "outcome": outcome, "problem": document}
