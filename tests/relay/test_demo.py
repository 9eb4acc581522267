"""The README's first command does its whole job on the real stack and exits 0."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from infra.stack import Stack
from streams.projections import PROJECTIONS

pytestmark = pytest.mark.stack


def test_the_demo_posts_commands_and_shows_them_relayed_and_projected(relay: Stack) -> None:
    cqrs = str(Path(sys.executable).parent / "cqrs")
    result = subprocess.run([cqrs, "demo"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "relayed by Debezium to Kafka events.Order (5 read" in result.stdout
    for event_type in ("OrderCreated", "OrderItemAdded", "OrderConfirmed", "OrderCancelled"):
        assert event_type in result.stdout
    projected = result.stdout[result.stdout.index("read models (") :]
    for name in PROJECTIONS:  # both orders at their last version: confirmed at 3, cancelled at 2
        assert re.search(rf"{name}\s*│\s*3\s*│\s*confirmed", projected), projected
        assert re.search(rf"{name}\s*│\s*2\s*│\s*cancelled", projected), projected
