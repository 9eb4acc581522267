"""`cqrs bench readapi` end to end on the real stack, small: it seeds, serves and measures every list and detail
scenario without a single failed request (the bench once started the read API without its dev key, and nothing
noticed until an operator ran it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cqrs.bench.report import RESULTS_DIR


def test_the_read_api_bench_measures_lists_and_detail_without_failed_requests() -> None:
    before = set(RESULTS_DIR.glob("readapi-*.json"))
    arguments = ["--orders", "300", "--clients", "2", "--seconds", "0.3", "--workers", "1", "--view", "list"]
    cqrs = Path(sys.executable).parent / "cqrs"  # the console script, as an operator runs it
    command = [str(cqrs), "bench", "readapi", *arguments, "--view", "detail"]

    finished = subprocess.run(command, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)

    assert finished.returncode == 0, finished.stderr[-3000:]
    (saved,) = set(RESULTS_DIR.glob("readapi-*.json")) - before
    rows = json.loads(saved.read_text())["rows"]
    measured = [row for row in rows if "requests" in row]
    assert {row["scenario"] for row in measured} >= {"uncached detail, 2 clients", "list all createdAt:desc, 2 clients"}
    assert all(row["requests"] > 0 and row["errors"] == 0 for row in measured), measured
    (projection,) = [row for row in rows if row["scenario"] == "list projection"]
    assert projection["list projection events/s"] > 0
