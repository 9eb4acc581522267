"""The runner port: whatever consumes Kafka must hand over batches and commit only what a handler returned from."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from streams.records import Record

EXIT_OK = 0
EXIT_RETIRED = 75
"""EX_TEMPFAIL: readers moved to another generation; restart to follow it (the supervisor does)."""
EXIT_CRASHED = 70
"""EX_SOFTWARE: a batch could not be processed; the process stops without committing it."""
EXIT_FENCED = 76
"""EX_PROTOCOL: the worker's lease lapsed (it stood still past its session): it may no longer own its partitions, so
it stops without writing and is restarted at once (`streams.ownership`)."""


class BatchHandler(Protocol):
    """What a runner drives (`streams.worker.ProjectionWorker`)."""

    retired: asyncio.Event

    @property
    def group_id(self) -> str: ...

    @property
    def topic(self) -> str: ...

    async def process(self, records: Sequence[Record]) -> Any:
        """Apply a batch; when it returns, the batch is durable and its offsets may be committed."""

    async def tick(self) -> None:
        """Housekeeping between batches, also when no events arrive (replays, generation checks)."""

    def assigned(self, partitions: set[int]) -> None: ...

    def revoked(self, partitions: set[int]) -> None:
        """Called once the batches in flight are durable, before Kafka hands the partitions to another worker."""

    def observe_highwaters(self, highwaters: Mapping[int, int], positions: Mapping[int, int]) -> None: ...

    async def close(self) -> None: ...


@runtime_checkable
class Settling(Protocol):
    """A handler that may still be writing batches the runner no longer waits for (the projection engine's)."""

    async def settle(self) -> None:
        """Wait until every batch handed over is durable or failed (before partitions are released)."""


HandlerFactory = Callable[[], Awaitable[BatchHandler]]


class Runner(ABC):
    @abstractmethod
    def run(self, open_handler: HandlerFactory) -> int:
        """Consume until stopped (SIGTERM/SIGINT) or retired; blocks; returns the process exit code.

        The handler is opened inside the runner's event loop, since store clients bind to the loop they start in.
        """
