"""Run the lines of a batch through the command handler: each line its own command (own transaction, own
idempotency key), up to `concurrency` at once, lines on the same order in file order, results in input order."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
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
from writer.ports import Accepted, IdempotencyClaim

log = structlog.get_logger("writer.batch")


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchContext:
    principal: Principal
    correlation_id: str
    """The batch request's: every command of one import shares it (one external request caused them all)."""
    idempotency_ttl_s: int


class BatchApplier:
    def __init__(self, handler: CommandHandler, context: BatchContext, *, concurrency: int) -> None:
        self._handler = handler
        self._context = context
        self._concurrency = concurrency

    async def results(self, lines: Iterable[CommandLine | BadLine]) -> AsyncIterator[dict[str, Any]]:
        """One result document per line, in input order, as soon as it and all lines before it are settled."""
        window: deque[asyncio.Task[dict[str, Any]]] = deque()
        last_on_order: dict[str, asyncio.Task[dict[str, Any]]] = {}
        try:
            for line in lines:
                previous = None
                if isinstance(line, CommandLine) and line.order_id is not None:
                    previous = last_on_order.get(line.order_id)
                task = asyncio.create_task(self._settle(line, after=previous))
                if isinstance(line, CommandLine) and line.order_id is not None:
                    last_on_order[line.order_id] = task
                window.append(task)
                if len(window) >= self._concurrency:
                    yield await window.popleft()
            while window:
                yield await window.popleft()
        finally:  # the client went away: stop what has not started (each line is atomic, a re-run completes it)
            for task in window:
                task.cancel()
            for task in window:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _settle(
        self, line: CommandLine | BadLine, *, after: asyncio.Task[dict[str, Any]] | None
    ) -> dict[str, Any]:
        if isinstance(line, BadLine):
            return _rejected(line.number, problem_for(line.error))
        if after is not None:
            await asyncio.wait([after])  # the earlier line on this order, whatever its outcome
        return await self._apply(line)

    async def _apply(self, line: CommandLine) -> dict[str, Any]:
        claim = IdempotencyClaim(
            scope=self._context.principal.subject,
            key=line.idempotency_key,
            # The single-command route's path: a line and `POST /commands/<name>` with the same key and body are
            # the same request, whichever way it came first.
            fingerprint=idempotency.fingerprint("POST", f"/commands/{line.name}", line.body, None),
            ttl_s=self._context.idempotency_ttl_s,
            respond=accepted_response,
        )
        context = CommandContext(
            principal=self._context.principal,
            command_id=uuid4(),
            correlation_id=self._context.correlation_id,
            idempotency=claim,
        )
        started = time.perf_counter()
        try:
            outcome = await self._handler.handle(line.command, context)
        except Exception as error:
            problem = problem_for(error)
            metrics.record_command(line.name, problem.slug, time.perf_counter() - started)
            if problem.status >= 500:
                log.error("batch.line_failed", line=line.number, problem=problem.slug, exc_info=error)
            return _rejected(line.number, problem)
        elapsed = time.perf_counter() - started
        if isinstance(outcome, Accepted):
            metrics.record_command(line.name, "accepted", elapsed)
            for event in outcome.events:
                metrics.EVENTS_STORED.labels(event.event_type).inc()
            return _accepted(line.number, json.loads(accepted_response(outcome).body), replayed=False)
        metrics.record_command(line.name, "replayed", elapsed)
        return _accepted(line.number, json.loads(outcome.response.body), replayed=True)


def _accepted(number: int, response: dict[str, Any], *, replayed: bool) -> dict[str, Any]:
    return {
        "line": number,
        "status": 202,
        "outcome": "replayed" if replayed else "accepted",
        "commandId": response["commandId"],
        "aggregateId": response["aggregateId"],
        "version": response["version"],
    }


def _rejected(number: int, problem: Problem) -> dict[str, Any]:
    document: dict[str, Any] = {"type": problem.type, "title": problem.title, "detail": problem.detail}
    if problem.errors:
        document["errors"] = [{"field": error.field, "message": error.message} for error in problem.errors]
    document.update(problem.extensions)
    outcome = "failed" if problem.status >= 500 else "rejected"
    return {"line": number, "status": problem.status, "outcome": outcome, "problem": document}
