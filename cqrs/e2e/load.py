"""Open-loop load on the writer: command i is due at start + i/rate whatever happened to earlier ones, and its
latency counts from that intended time, so a slow writer cannot hide queueing (no coordinated omission).

A command that gets no definite answer (a 5xx, a refused connection, a timeout) is sent again with the same
Idempotency-Key until it gets one, as a careful client does: if the first attempt did commit, the writer answers
the stored 202 again, so the reference model stays exact through outages.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import httpx

from cqrs.e2e.mix import Command, CommandMix
from cqrs.e2e.reference import Reference, UnexpectedVersion

log = logging.getLogger(__name__)
RETRY_FOR_S = 300.0
IN_FLIGHT = 256
"""Requests on the wire at once (the client's pool size). Commands due beyond that wait in an asyncio queue, which
is cheap, rather than in httpx's pool queue, which costs O(waiting) per request and would make the load generator
itself the bottleneck; their latency still counts from the intended send time."""


@dataclass(frozen=True, slots=True)
class Accepted:
    command: str
    order_id: str
    version: int
    due: float
    """Intended send time (time.time())."""
    accepted_at: float
    """When the writer accepted the command: the 202's `timestamp`, taken at its commit (time.time() scale). Not when
    the answer reached this client, which under overload can be long after the projections applied it."""


@dataclass(slots=True)
class LoadResult:
    rate: int
    seconds: float
    sent: int = 0
    accepted: list[Accepted] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    """First attempt, from the intended send time to its answer, whatever the answer."""
    refused: Counter[str] = field(default_factory=Counter)
    """Attempts without a definite answer, by status code or error type (each was retried)."""
    rejected: Counter[str] = field(default_factory=Counter)
    """Definite 4xx answers: none is expected, since the mix sends only valid commands."""
    anomalies: list[str] = field(default_factory=list)
    """Answers the reference model cannot follow (a version that skips or repeats one): lost or doubled effects."""
    unresolved: int = 0
    """Commands still without a definite answer after RETRY_FOR_S."""
    elapsed_s: float = 0.0

    @property
    def achieved_rate(self) -> float:
        return self.sent / self.elapsed_s if self.elapsed_s else 0.0


OnAccepted = Callable[[Accepted], None]


class OpenLoop:
    def __init__(self, client: httpx.AsyncClient, reference: Reference, mix: CommandMix) -> None:
        self._client = client
        self._reference = reference
        self._mix = mix
        self._slots = asyncio.Semaphore(IN_FLIGHT)

    async def run(self, rate: int, seconds: float, on_accepted: OnAccepted | None = None) -> LoadResult:
        result = LoadResult(rate, seconds)
        start = time.perf_counter()
        wall_start = time.time()
        tasks = []
        for index in range(int(rate * seconds)):
            offset = index / rate
            delay = start + offset - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            command = self._mix.next()
            tasks.append(asyncio.create_task(self._send(command, wall_start + offset, result, on_accepted)))
            result.sent += 1
        result.elapsed_s = time.perf_counter() - start
        await asyncio.gather(*tasks)
        return result

    async def _send(self, command: Command, due: float, result: LoadResult, on_accepted: OnAccepted | None) -> None:
        headers = {"Idempotency-Key": command.idempotency_key}
        pause, first = 0.2, True
        order_id: str | None = None
        try:
            while time.time() - due < RETRY_FOR_S:
                try:
                    async with self._slots:
                        response = await self._client.post(command.path, json=command.body, headers=headers)
                    outcome = str(response.status_code)
                except httpx.HTTPError as error:
                    response, outcome = None, type(error).__name__
                if first:
                    result.latencies_ms.append((time.time() - due) * 1000)
                    first = False
                if response is not None and response.status_code == 202:
                    order_id = self._accept(command, response.json(), due, result, on_accepted)
                    return
                if response is not None and response.status_code < 500:
                    result.rejected[f"{command.name} {outcome}: {response.text[:120]}"] += 1
                    return
                result.refused[outcome] += 1
                await asyncio.sleep(pause)
                pause = min(pause * 2, 2.0)
            result.unresolved += 1
        finally:
            self._mix.answered(command, order_id)

    def _accept(
        self,
        command: Command,
        answer: dict[str, object],
        due: float,
        result: LoadResult,
        on_accepted: OnAccepted | None,
    ) -> str:
        order_id, version = str(answer["aggregateId"]), answer["version"]
        assert isinstance(version, int)
        try:
            if command.order_id is None:
                self._reference.created(order_id, version, command.body)
            else:
                self._reference.changed(command.name, order_id, version, command.body)
        except UnexpectedVersion as error:
            result.anomalies.append(str(error))
        committed = datetime.fromisoformat(str(answer["timestamp"]).replace("Z", "+00:00")).timestamp()
        accepted = Accepted(command.name, order_id, version, due, committed)
        result.accepted.append(accepted)
        if on_accepted is not None:
            on_accepted(accepted)
        return order_id
