"""How a trace sums up (pure): the command's state from the relay and each projection, and when the relay counts
as down."""

from __future__ import annotations

import pytest

from writer.trace.model import CommandTrace, Parked, ProjectionProgress, Relayed, State
from writer.trace.relay_state import RelayState

OUTCOME = {"commandId": "c", "aggregateId": "o", "version": 2}
RELAYED = Relayed("events.Order", 3, (41,), 1_700_000_000_000)
LETTER = Parked("parked-behind", "order o is parked", 2, "2026-01-01T00:00:00Z", 3, 41)


def traced(relayed: Relayed | None, *states: State, failure: str | None = None) -> CommandTrace:
    progress = [
        ProjectionProgress(f"p{i}", state, None, parked=LETTER if state == "parked" else None)
        for i, state in enumerate(states)
    ]
    return CommandTrace(OUTCOME, relayed, progress, failure)


@pytest.mark.parametrize(
    ("relayed", "states", "expected"),
    [
        (None, ("accepted", "accepted"), "accepted"),
        (RELAYED, ("relayed", "relayed"), "relayed"),
        (RELAYED, ("applied", "relayed"), "relayed"),
        (RELAYED, ("applied", "applied"), "applied"),
        (RELAYED, ("applied", "parked"), "parked"),
        # Applied somewhere means relayed, even if the topic could not be read just now.
        (None, ("applied", "accepted"), "relayed"),
    ],
)
def test_the_command_state_is_the_furthest_every_projection_agrees_on(
    relayed: Relayed | None, states: tuple[State, ...], expected: State
) -> None:
    assert traced(relayed, *states).state == expected


def test_a_lost_relay_fails_the_command() -> None:
    assert traced(None, "accepted", failure="slot lost").state == "failed"


def test_the_answer_keeps_the_outcome_and_adds_the_trace() -> None:
    answer = traced(RELAYED, "applied", "parked").as_json()
    assert {key: answer[key] for key in OUTCOME} == OUTCOME
    assert answer["trace"]["relay"] == {
        "topic": "events.Order", "partition": 3, "offsets": [41], "at": "2023-11-14T22:13:20.000Z",
    }  # fmt: skip
    assert answer["trace"]["projections"]["p1"]["parked"]["reason"] == "parked-behind"


@pytest.mark.parametrize(
    ("state", "problem"),
    [
        (RelayState("c", "RUNNING", ("RUNNING",), "s", True, 0, "reserved"), None),
        (RelayState("c", "PAUSED", ("PAUSED",), "s", True, 0, "reserved"), "connector c is PAUSED"),
        (RelayState("c", "MISSING"), "connector c is MISSING"),
        (RelayState("c", "RUNNING", ("FAILED",), "s", False, 0), "connector c's tasks are FAILED"),
        (RelayState("c", "RUNNING", (), "s"), "connector c's tasks are not started"),
        (RelayState("c", "RUNNING", ("RUNNING",), "s", False, 9, "reserved"), "nobody streams from replication slot s"),
    ],
)
def test_the_relay_is_down_unless_connector_task_and_slot_all_run(state: RelayState, problem: str | None) -> None:
    assert state.problem == problem
