"""A bounded map that forgets the least recently stored key first: what a worker remembers of the orders it saw."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Generic, TypeVar

V = TypeVar("V")


class Lru(Generic[V]):
    def __init__(self, size: int) -> None:
        self._size = size
        self._values: OrderedDict[str, V] = OrderedDict()

    def get(self, key: str) -> V | None:
        return self._values.get(key)

    def __contains__(self, key: str) -> bool:
        return key in self._values

    def of(self, keys: Iterable[str]) -> dict[str, V]:
        """The values of those `keys` it holds."""
        return {key: self._values[key] for key in keys if key in self._values}

    def put(self, key: str, value: V) -> None:
        self._values[key] = value
        self._values.move_to_end(key)
        while len(self._values) > self._size:
            self._values.popitem(last=False)

    def put_all(self, values: Mapping[str, V]) -> None:
        for key, value in values.items():
            self.put(key, value)

    def forget(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._values.pop(key, None)

    def clear(self) -> None:
        self._values.clear()
