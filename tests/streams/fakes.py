"""In-memory adapters of the streams ports, for unit tests (the contract suite runs against them too)."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Collection
from typing import Any

from streams.dlq import DeadLetterLog
from streams.errors import TargetError
from streams.sink import BatchingSink, Put, Stored, Targets


class Gate:
    """Holds a sink's writes until opened, so a test can act while a write is in flight."""

    def __init__(self) -> None:
        self.opened = asyncio.Event()
        self.writing = asyncio.Event()
        """Set once a write reached the gate."""

    async def passed(self) -> None:
        self.writing.set()
        await self.opened.wait()


class MemorySink(BatchingSink):
    def __init__(self, store: dict[str, Stored] | None = None) -> None:
        super().__init__()
        self.store: dict[str, Stored] = {} if store is None else store
        self.flushes: list[list[Put]] = []
        self.loads: list[set[str]] = []
        self.fail_next_flushes = 0

    async def load(self, keys: Collection[str]) -> dict[str, Stored]:
        self.loads.append(set(keys))
        return {key: copy.deepcopy(self.store[key]) for key in keys if key in self.store}

    async def write(self, puts: list[Put]) -> None:
        if self.fail_next_flushes:
            self.fail_next_flushes -= 1
            raise ConnectionError("store unavailable")
        for put in puts:
            held = self.store.get(put.key)
            if held is None or put.position > held.position:
                self.store[put.key] = Stored(put.position, copy.deepcopy(dict(put.document)))
        self.flushes.append(puts)

    async def count(self) -> int:
        return len(self.store)


class MemoryTargets(Targets):
    store = "memory"

    def __init__(self) -> None:
        self.stores: dict[int, dict[str, Stored]] = {}
        self.pointer: int | None = None

    async def active(self) -> int | None:
        return self.pointer

    async def generations(self) -> list[int]:
        return sorted(self.stores)

    async def create(self, generation: int) -> None:
        self.stores.setdefault(generation, {})

    async def switch(self, generation: int) -> None:
        if generation not in self.stores:
            raise TargetError(f"no generation {generation}")
        self.pointer = generation

    async def drop(self, generation: int) -> None:
        if generation == self.pointer:
            raise TargetError("refusing to drop the active generation")
        self.stores.pop(generation, None)

    def sink(self, generation: int, *, bulk: bool = False) -> MemorySink:
        return MemorySink(self.stores[generation])

    def describe(self, generation: int) -> str:
        return f"memory generation {generation}"

    async def drop_everything(self) -> None:
        self.stores.clear()
        self.pointer = None

    async def close(self) -> None:
        pass


class MemoryDeadLetterLog(DeadLetterLog):
    """A shared list of messages; each instance reads from its own cursor, like a consumer."""

    def __init__(self, messages: list[dict[str, Any]] | None = None) -> None:
        self.messages: list[dict[str, Any]] = [] if messages is None else messages
        self._cursor = 0

    async def start(self) -> list[dict[str, Any]]:
        self._cursor = len(self.messages)
        return copy.deepcopy(self.messages)

    async def poll(self) -> list[dict[str, Any]]:
        new = self.messages[self._cursor :]
        self._cursor = len(self.messages)
        return copy.deepcopy(new)

    async def append(self, messages: list[dict[str, Any]]) -> None:
        self.messages.extend(copy.deepcopy(messages))

    async def stop(self) -> None:
        pass

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["kind"] == kind]
