"""What a sink remembers of the positions its store holds, so most writes need no read first.

The Mongo and ClickHouse sinks decide per order whether to insert, replace or skip from the stored position. They
remember the positions they loaded or wrote; that memory is reliable only while this worker is the one writer of
those orders, so it is forgotten when partitions move (`Sink.forget`) and for the orders of a write that failed
(it may or may not have landed). A stale memory costs a skipped or refused write, never a wrong one: the store
fences every write by position as well.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from streams.lru import Lru
from streams.positions import Position

NOTHING = Position(0, 0)
"""The position of an order the store has no record of (every real position is at least v1.0)."""


class KnownPositions:
    def __init__(self, size: int = 200_000) -> None:
        self._positions: Lru[Position] = Lru(size)

    def of(self, keys: Iterable[str]) -> dict[str, Position]:
        """The remembered positions of those keys (NOTHING for one known to be absent); unknown keys left out."""
        return self._positions.of(keys)

    def get(self, key: str) -> Position | None:
        return self._positions.get(key)

    def loaded(self, keys: Collection[str], found: Mapping[str, Position]) -> None:
        """The store was read for `keys`: those not in `found` have no record."""
        self._positions.put_all({key: found.get(key, NOTHING) for key in keys})

    def wrote(self, positions: Mapping[str, Position]) -> None:
        """Positions now stored (never lowers what is remembered: a skipped put leaves the newer stored one)."""
        for key, position in positions.items():
            held = self._positions.get(key)
            self._positions.put(key, position if held is None else max(held, position))

    def forget(self, keys: Iterable[str] | None = None) -> None:
        """Forget some keys (None: all), so the next write asks the store."""
        if keys is None:
            self._positions.clear()
        else:
            self._positions.forget(keys)
