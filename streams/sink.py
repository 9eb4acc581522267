"""The sink port: a store that keeps one versioned record per key, written in batches.

A projection turns events into `Put`s; the engine `add`s them and calls `flush` once per batch, and only after
`flush` returned does it commit Kafka offsets. Every adapter gives the same guarantees, proven by one contract suite
(`tests/streams/sink_contract.py`) against each real store:

- `load` returns, per key, the record at the highest position ever flushed (or nothing);
- a `Put` at a position at or below the stored one changes nothing, so redelivered batches have no second effect;
- several `Put`s of one key in one batch leave the highest position (a store may write only that one, or all of them
  when it keeps history, as the analytics facts do);
- `flush` writes everything added since the last flush or raises; after an exception nothing may be assumed written,
  and the caller flushes the same records again (which the rules above make safe);
- a write never replaces a newer state, whoever wrote it: when several workers share a projection, a stale worker
  (one whose partitions moved on while it was paused) cannot undo the new owner's writes. Each adapter fences by
  position in the store itself (see each adapter), and checks `guard` before every statement it sends, which
  raises `streams.errors.Fenced` once the worker may no longer own its partitions (`streams.ownership`).

Adapters build on `BatchingSink`, which keeps the batching (after quix-streams' `BatchingSink`): it buffers what
`add` gets and hands the batch to the adapter's `write`; only after `write` returned does it drop the batch, so a
failed flush keeps its records for the retry.

Targets are generations of the physical store objects (`orders-v2` index, `orders_v2` collection, `*_v2` tables).
Readers always see exactly one generation, through a pointer the adapter switches atomically.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from streams.positions import Position


@dataclass(frozen=True, slots=True)
class Put:
    """Store `document` as the state of `key` after the event at `position`."""

    key: str
    position: Position
    document: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Stored:
    position: Position
    document: dict[str, Any]


def _unguarded() -> None:
    """The guard of a sink nobody fences (tests, benches, a rebuild's single writer)."""


class Sink(ABC):
    """Batched, idempotent writes of versioned records into one target generation of one store."""

    guard: Callable[[], None]
    """Called before every write statement; raises `Fenced` when this worker may no longer write (the engine sets
    it to its `Ownership.check`)."""

    def forget(self) -> None:  # noqa: B027 (optional hook: a sink that remembers nothing has nothing to forget)
        """Partitions moved to another worker: forget whatever this sink remembers of the store's positions."""

    @abstractmethod
    async def load(self, keys: Collection[str]) -> dict[str, Stored]:
        """The latest stored record of each key that has one; one round trip for the whole collection."""

    @abstractmethod
    def add(self, *puts: Put) -> None:
        """Buffer records for the next `flush` (no I/O)."""

    @abstractmethod
    async def flush(self) -> int:
        """Write the buffered records in bulk; returns how many were sent. Raises if the store did not take them,
        keeping them buffered for the next attempt."""

    @property
    @abstractmethod
    def pending(self) -> int:
        """Records buffered since the last successful flush."""

    @abstractmethod
    async def count(self) -> int:
        """Keys with a stored record (for tests and status)."""


class BatchingSink(Sink):
    """A sink that keeps the batching; an adapter implements `write` (plus `load` and `count`).

    The batch holds the highest-position `Put` per key, or every `Put` in order when the store keeps history
    (`keeps_history`, as the analytics facts do)."""

    keeps_history: ClassVar[bool] = False

    def __init__(self) -> None:
        self._batch: Batch = self._new_batch()
        self.guard = _unguarded

    def _new_batch(self) -> Batch:
        return EveryPut() if self.keeps_history else LatestPerKey()

    def add(self, *puts: Put) -> None:
        for put in puts:
            self._batch.add(put)

    async def flush(self) -> int:
        # The batch is taken before the write: what is added while it runs (the engine decides the next batch
        # meanwhile) goes to a fresh buffer and waits for the next flush instead of being cleared unwritten.
        taken, self._batch = self._batch, self._new_batch()
        puts = taken.items()
        if not puts:
            return 0
        try:
            self.guard()
            await self.write(puts)
        except BaseException:
            for put in self._batch.items():  # keep the failed batch, with what came since after it
                taken.add(put)
            self._batch = taken
            raise
        return len(puts)

    @abstractmethod
    async def write(self, puts: list[Put]) -> None:
        """Write one batch to the store, all of it or raise. Called again with the same records (and any added
        since) after it raised, so it must skip what the store already holds (positions make that possible)."""

    @property
    def pending(self) -> int:
        return len(self._batch)


class Targets(ABC):
    """The generations of one store's read model and the pointer readers follow."""

    store: str
    """Short name of the store, for messages (`mongo`, `elasticsearch`, `clickhouse`)."""

    @abstractmethod
    async def active(self) -> int | None:
        """The generation readers see, or None before the first one exists."""

    @abstractmethod
    async def generations(self) -> list[int]:
        """Every generation that exists physically, active or not, oldest first."""

    @abstractmethod
    async def create(self, generation: int) -> None:
        """Create the physical objects of a generation (schema, indexes); idempotent."""

    @abstractmethod
    async def switch(self, generation: int) -> None:
        """Point readers at `generation` in one atomic step; it must exist."""

    @abstractmethod
    async def drop(self, generation: int) -> None:
        """Delete an inactive generation; refuses the active one."""

    @abstractmethod
    def sink(self, generation: int, *, bulk: bool = False) -> Sink:
        """A sink writing into `generation`. `bulk`: nobody reads that generation yet (a rebuild), so the store may
        write in ways that are faster but not atomic per document."""

    @abstractmethod
    def describe(self, generation: int) -> str:
        """The physical name(s) of a generation, for messages."""

    @abstractmethod
    async def drop_everything(self) -> None:
        """Delete every generation and the reader-facing pointer (sandboxes: tests and benches)."""

    @abstractmethod
    async def close(self) -> None:
        """Release the store client."""

    async def ensure_active(self) -> int:
        """The active generation, creating and activating generation 1 on a fresh store."""
        active = await self.active()
        if active is None:
            await self.create(1)
            await self.switch(1)
            active = 1
        return active


class Batch(Protocol):
    """The buffer of a `BatchingSink`."""

    def add(self, put: Put) -> None: ...

    def items(self) -> list[Put]: ...

    def __len__(self) -> int: ...


class LatestPerKey:
    """A batch buffer that keeps the highest-position `Put` per key (stores that keep only the latest record)."""

    def __init__(self) -> None:
        self._puts: dict[str, Put] = {}

    def add(self, put: Put) -> None:
        held = self._puts.get(put.key)
        if held is None or put.position > held.position:
            self._puts[put.key] = put

    def items(self) -> list[Put]:
        return list(self._puts.values())

    def __len__(self) -> int:
        return len(self._puts)


class EveryPut:
    """A batch buffer that keeps every `Put` in the order added (stores that keep history)."""

    def __init__(self) -> None:
        self._puts: list[Put] = []

    def add(self, put: Put) -> None:
        self._puts.append(put)

    def items(self) -> list[Put]:
        return list(self._puts)

    def __len__(self) -> int:
        return len(self._puts)
