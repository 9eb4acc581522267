"""`cqrs bench e2e` measures accepted → visible in every store, and every sampled version really is in the stores."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from infra.stack import Stack

pytestmark = pytest.mark.stack


def test_the_e2e_bench_times_every_store_and_saves_a_table_and_a_picture(pipeline: Stack, tmp_path: Path) -> None:
    cqrs = str(Path(sys.executable).parent / "cqrs")
    argv = [
        cqrs,
        "bench",
        "e2e",
        "--no-search",
        "--runner",
        "kafka",
        "--rate",
        "40",
        "--seconds",
        "4",
        "--sample-every",
        "2",
    ]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    saved = result.stdout.split("saved ")[1].split()[0]
    document = json.loads((Path(__file__).parents[2] / saved).read_text())
    [row] = document["rows"]
    assert row["accepted"] >= 150  # 160 due; the open loop sends them all
    assert row["never visible"] == 0
    assert row["store behind announcement"] == 0
    assert row["samples/store"] == row["accepted"] // 2
    for store in ("mongo", "elasticsearch", "clickhouse", "readdb"):
        assert 0 <= row[f"{store} p50 ms"] <= row[f"{store} p99 ms"] < 60_000
    assert (Path(__file__).parents[2] / saved).with_suffix(".png").stat().st_size > 10_000
