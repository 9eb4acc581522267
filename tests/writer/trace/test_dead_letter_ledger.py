"""The trace's view of a DLQ topic (pure): a parked letter holds until a replay applies it or a drop discards it,
replays count per generation, drops for all."""

from __future__ import annotations

from typing import Any

from schemas.read_models import DROPPED, PARKED, REPLAY_FINISHED
from writer.trace.relay_log import DeadLetterLedger


def parked(generation: int, offset: int, order: str, reason: str, version: int | None) -> dict[str, Any]:
    return {
        "kind": PARKED, "generation": generation, "source": f"events.Order:1:{offset}", "aggregateId": order,
        "reason": reason, "error": f"{reason} at {offset}", "version": version, "parkedAt": "2026-01-01T00:00:00Z",
        "partition": 1, "offset": offset,
    }  # fmt: skip


def test_an_order_is_held_by_its_letters_in_event_order() -> None:
    ledger = DeadLetterLedger()
    ledger.apply(parked(1, 12, "o", "parked-behind", 3))
    ledger.apply(parked(1, 10, "o", "undecodable", None))
    ledger.apply(parked(1, 11, "p", "invariant", 2))
    assert [(p.reason, p.offset) for p in ledger.holding(1, "o")] == [("undecodable", 10), ("parked-behind", 12)]
    assert ledger.holding(1, "q") == []


def test_a_finished_replay_releases_only_its_generation() -> None:
    ledger = DeadLetterLedger()
    ledger.apply(parked(1, 10, "o", "version-gap", 3))
    ledger.apply(parked(2, 10, "o", "version-gap", 3))
    ledger.apply({"kind": REPLAY_FINISHED, "generation": 1, "sources": ["events.Order:1:10"], "aggregates": ["o"]})
    assert ledger.holding(1, "o") == []
    assert [p.reason for p in ledger.holding(2, "o")] == ["version-gap"]
    assert [p.reason for p in ledger.holding(None, "o")] == ["version-gap"]  # generation unknown: any


def test_a_drop_releases_every_generation() -> None:
    ledger = DeadLetterLedger()
    ledger.apply(parked(1, 10, "o", "unknown-schema", 2))
    ledger.apply(parked(2, 10, "o", "unknown-schema", 2))
    ledger.apply({"kind": DROPPED, "generation": 2, "sources": ["events.Order:1:10"]})
    assert ledger.holding(None, "o") == []
