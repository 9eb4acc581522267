"""The README's first command does its whole job on the real stack and exits 0."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from infra.stack import Stack
from streams.projections import PROJECTIONS

pytestmark = pytest.mark.stack


def test_the_demo_tells_the_whole_story_and_exits_by_itself(relay: Stack) -> None:
    cqrs = str(Path(sys.executable).parent / "cqrs")
    env = {**os.environ, "COLUMNS": "200"}  # wide enough that no table cell wraps
    result = subprocess.run([cqrs, "demo"], capture_output=True, text=True, timeout=420, env=env)
    out = result.stdout
    assert result.returncode == 0, out[-3000:] + result.stderr[-3000:]
    assert re.search(r"imported orders.ndjson: \d+ orders applied now.*, 0 rejected", out), out[:3000]
    assert "relayed by Debezium to Kafka events.Order (5 read" in out
    for event_type in ("OrderCreated", "OrderItemAdded", "OrderConfirmed", "OrderCancelled"):
        assert event_type in out
    every_model = out[out.index("one order, every model") : out.index("read API GET")]
    for model in ("write model", *PROJECTIONS):  # both orders at their last version: confirmed at 3, cancelled at 2
        assert re.search(rf"{model}\s*│\s*3\s*│\s*confirmed", every_model), every_model
        assert re.search(rf"{model}\s*│\s*2\s*│\s*cancelled", every_model), every_model
    assert "not yet" not in every_model
    assert re.search(r"read API GET /orders/\S+\?minVersion=3 → version 3, status confirmed", out), out
    assert re.search(r"list customerId=\S+ sort=createdAt:desc: [1-9]\d* orders \(PostgreSQL\)", out), out
    assert re.search(r"search q='mug': [1-9]\d* orders", out)
    assert "daily revenue" in out
    delivered = re.search(r"webhooks: (\d+) delivered, (\d+) attempts, 0 bad signatures", out)
    assert delivered, out[-3000:]
    assert int(delivered[1]) == 2  # the endpoint wants confirmations and cancellations: one of each in the story
    assert int(delivered[2]) == 4  # the receiver refuses every first attempt
    assert "add-item-to-order (gRPC)" in out  # one command of the story goes over gRPC
    # The last command's trace (the title may wrap): cancelling the second order, version 2, applied everywhere.
    assert re.search(r"GET /commands/\{commandId\}: cancel-order \S+ \(order \S+ v2\)\s+is\s+applied", out), out[-5000:]
    assert re.search(r"region eu read API GET /orders/\S+ → version 1, status pending", out), out[-5000:]
    assert "GET /customers/alice/overview" in out
    assert "/docs" in out
