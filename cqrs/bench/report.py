"""What every `cqrs bench …` prints and keeps: a rich table on the terminal and the same rows as JSON on disk."""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from infra.settings import REPO_ROOT

RESULTS_DIR = REPO_ROOT / "bench-results"


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (no interpolation: every reported figure is a latency that really occurred)."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


def latency_summary(samples_ms: Sequence[float]) -> dict[str, float]:
    return {
        "count": len(samples_ms),
        "p50_ms": round(percentile(samples_ms, 0.50), 2),
        "p95_ms": round(percentile(samples_ms, 0.95), 2),
        "p99_ms": round(percentile(samples_ms, 0.99), 2),
        "max_ms": round(max(samples_ms), 2) if samples_ms else float("nan"),
    }


def report(name: str, rows: list[dict[str, Any]], settings: dict[str, Any], console: Console | None = None) -> Path:
    """Print `rows` as a table and save {benchmark, settings, machine, rows} to bench-results/NAME-<time>.json."""
    console = console or Console()
    # One column per scenario, one row per measure: stays readable in an 80-column terminal or a CI log.
    table = Table(title=f"cqrs bench {name}")
    table.add_column("measure")
    for index, row in enumerate(rows):
        table.add_column(str(row.get("scenario", index)), justify="right")
    measures = list(dict.fromkeys(key for row in rows for key in row if key != "scenario"))
    for measure in measures:
        table.add_row(measure, *(_cell(row.get(measure)) for row in rows))
    console.print(table)
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{name}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    machine = {"cpus": _cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    document = {"benchmark": name, "settings": settings, "machine": machine, "rows": rows}
    path.write_text(json.dumps(document, indent=2, default=str))
    console.print(f"saved {path.relative_to(REPO_ROOT)}")
    return path


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0))
