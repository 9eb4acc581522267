"""`cqrs bench projections` end to end on the real stack, small: every projection's rate, its store's raw ingest, its
rebuild and all of them at once as deployed (the bench broke twice unnoticed: worker processes that could not read
their settings, a projection without a raw writer)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cqrs.bench.report import RESULTS_DIR
from streams.contract import PROJECTIONS


def test_the_projections_bench_measures_every_projection_and_all_at_once() -> None:
    before = set(RESULTS_DIR.glob("projections-*.json"))
    cqrs = Path(sys.executable).parent / "cqrs"  # the console script, as an operator runs it
    command = [str(cqrs), "bench", "projections", "--events", "3000", "--no-faust"]

    finished = subprocess.run(command, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)

    assert finished.returncode == 0, finished.stderr[-3000:]
    (saved,) = set(RESULTS_DIR.glob("projections-*.json")) - before
    rows = {row["scenario"]: row for row in json.loads(saved.read_text())["rows"]}
    for name in PROJECTIONS:
        measured = rows[name]
        assert measured["events/s (aiokafka runner)"] > 0, measured
        assert measured["store raw bulk ingest/s"] > 0, measured
        assert measured["rebuild events/s"] > 0, measured
    (together,) = [row for scenario, row in rows.items() if scenario.startswith("all ")]
    assert together["events/s (aiokafka runner)"] > 0, together
