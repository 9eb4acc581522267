"""`cqrs bench e2e` searches the sustainable rate with vegeta for each streams runner, and what it reports as the
pipeline's CPU is the pipeline's: the load generator is in no row."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cqrs.apps import pipeline_stack
from infra.settings import stack_settings
from infra.stack import Stack
from streams.projections import PROJECTIONS

pytestmark = pytest.mark.stack
REPO = Path(__file__).parents[2]


def _saved(stdout: str, name: str) -> dict[str, Any]:
    [path] = [line.split()[1] for line in stdout.splitlines() if line.startswith(f"saved bench-results/{name}-")]
    document: dict[str, Any] = json.loads((REPO / path).read_text())
    return document


def test_the_sustainable_search_runs_each_runner_and_counts_only_the_pipelines_cpu(pipeline: Stack) -> None:
    cqrs = str(Path(sys.executable).parent / "cqrs")
    argv = [
        cqrs, "bench", "e2e", "--no-freshness", "--runner", "kafka", "--runner", "faust",
        "--start-rate", "20", "--hold", "4", "--most-steps", "2",
    ]  # fmt: skip
    result = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    rows = _saved(result.stdout, "e2e-sustainable")["rows"]
    runners = [row["scenario"].split()[0] for row in rows]
    assert (runners[0], runners[-1]) == ("kafka", "faust")
    # 20/s is far below what either runner carries, so each doubles once: 20, then 40.
    assert [row["scenario"] for row in rows] == ["kafka 20/s", "kafka 40/s", "faust 20/s", "faust 40/s"]
    services = set(pipeline_stack(stack_settings(), list(pipeline_stack(stack_settings()).by_name)).by_name)
    for row in rows:
        rate = int(row["scenario"].split()[1].removesuffix("/s"))
        assert row["sustainable"] == "yes"
        assert row["commands sent"] == row["202 accepted"] == rate * 4  # each pregenerated command once, all valid
        assert row["not 202 (status: n)"] == "0"
        for name in PROJECTIONS:
            peak, tail, bound = (int(part) for part in row[f"lag {name} peak/tail/bound"].split("/"))
            assert 0 <= tail <= min(bound, peak)
        assert row["lag drained s (slowest)"] != "no"
        assert row["limited by"] == "-"
        assert 0.8 * rate <= row["sent commands/s"] <= 1.2 * rate
        components = {key.removeprefix("cpu ms/cmd ") for key in row if key.startswith("cpu ms/cmd ")}
        parts = components - {"total", "of it idle (no load)"}
        # Only stack processes: neither vegeta nor the bench's own process ("load generator") is a row.
        assert parts <= services, parts - services
        assert {"writer", "streams", "kafka"} <= parts
        assert row["cpu ms/cmd total"] >= sum(row[f"cpu ms/cmd {part}"] for part in parts) - 0.1
        assert 0 < row["load generator + bench cpu % of machine"] <= 100  # vegeta is there, apart from the pipeline
        assert 0 <= row["other work cpu % of machine"] <= 100
        [capacity] = [value for key, value in row.items() if key.endswith("cores, idle apart")]
        assert capacity is None or capacity > 0
