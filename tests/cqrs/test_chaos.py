"""The fault suite, shortened: SIGKILL each part of the pipeline under load, restart it, and check against the
reference model that every accepted command is in every read model exactly once (`cqrs chaos` is the long form)."""

from __future__ import annotations

import asyncio

import pytest

from cqrs.apps import pipeline_stack
from cqrs.e2e.bench import Target, prepare
from cqrs.e2e.chaos import REBALANCE, SCENARIOS, available, run_scenario
from infra.stack import Stack

pytestmark = [pytest.mark.stack, pytest.mark.disruptive]


@pytest.fixture(scope="module")
def target(pipeline: Stack) -> Target:
    return prepare(pipeline.settings)


@pytest.mark.parametrize("service", [s for s in SCENARIOS if s != REBALANCE])  # its short form: test_scale_out.py
def test_a_killed_service_loses_and_doubles_nothing(target: Target, pipeline: Stack, service: str) -> None:
    if not available(pipeline.settings, service):
        pytest.skip(f"{service} is not part of this stack yet")
    pipeline_stack(pipeline.settings, [service]).up()
    result = asyncio.run(
        run_scenario(target, pipeline.settings, service, rate=30, seconds=12, down_s=3, converge_s=240)
    )
    print("\n", result.row())
    assert len(result.load.accepted) >= 300  # the load went on through the outage (with retries)
    assert result.load.anomalies == []
    assert not result.load.rejected
    assert result.load.unresolved == 0
    assert result.lost_on_wire == 0
    assert result.converged_s is not None, f"not converged: lost {result.lost}, doubled {result.doubled}"
    assert not any(result.doubled.values())
    assert not any(result.lost.values())
    if service == "redis":  # Redis is a cache: readers recover by themselves, and the store answers meanwhile
        assert result.reads is not None
        assert result.reads.known_order_fresh, result.reads.row()
        assert (result.reads.known_order_s or 99) < 0.5, result.reads.row()  # answered at once from the store
        assert (result.reads.fresh_again_s or 99) <= 10, result.reads.row()
