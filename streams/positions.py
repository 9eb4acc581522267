"""Where an event sits in its aggregate's history: (version, sequence), and how a next event must follow.

All events of one command share `version` and are ordered by `sequence` (0, 1, …); the next command's events have
`version + 1`. A store keeps one number per document, so positions are also packed into one integer that sorts
the same way (Elasticsearch's external version, Mongo's `position` filter, ClickHouse's ReplacingMergeTree).
"""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple

SEQUENCE_SPAN = 1_000_000
"""Packed = version * SEQUENCE_SPAN + sequence: readable in a store (5000001 is version 5, sequence 1)."""


class Position(NamedTuple):
    version: int
    sequence: int = 0

    @property
    def packed(self) -> int:
        return self.version * SEQUENCE_SPAN + self.sequence

    @classmethod
    def unpack(cls, packed: int) -> Position:
        version, sequence = divmod(packed, SEQUENCE_SPAN)
        return cls(version, sequence)

    def __str__(self) -> str:
        return f"v{self.version}.{self.sequence}"


FIRST = Position(1, 0)


class Verdict(Enum):
    APPLY = "apply"
    DUPLICATE = "duplicate"
    GAP = "gap"


def verdict(applied: Position | None, event: Position) -> Verdict:
    """Whether an event is the next one after `applied` (None: nothing applied yet), already applied, or early.

    Strict: the next event is the following sequence of the same version, or sequence 0 of the next version. Any
    other later position means events are missing, which the worker must not paper over.
    """
    if applied is None:
        return Verdict.APPLY if event == FIRST else Verdict.GAP
    if event <= applied:
        return Verdict.DUPLICATE
    if event == (applied.version, applied.sequence + 1) or event == (applied.version + 1, 0):
        return Verdict.APPLY
    return Verdict.GAP
