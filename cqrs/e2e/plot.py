"""The freshness picture: accepted → visible over the run, per store, one panel per scenario; and the percentiles."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and CI
import matplotlib.pyplot as plt

from cqrs.bench.report import percentile
from cqrs.e2e.freshness import STORES, Sample

COLOURS = {"mongo": "tab:green", "elasticsearch": "tab:orange", "clickhouse": "tab:blue", "readdb": "tab:purple"}


def draw(by_scenario: dict[str, list[Sample]], path: Path) -> Path:
    """One panel per scenario, in the order given (keys name them: "kafka 100/s")."""
    scenarios = list(by_scenario)
    figure, axes = plt.subplots(len(scenarios) + 1, 1, figsize=(10, 3.2 * (len(scenarios) + 1)), squeeze=False)
    for row, scenario in enumerate(scenarios):
        axis = axes[row][0]
        for store in STORES.values():
            points = [s for s in by_scenario[scenario] if s.store == store]
            axis.scatter([s.at for s in points], [s.accepted_ms for s in points], s=4, label=store, c=COLOURS[store])
        axis.set_title(f"{scenario}: accepted → visible")
        axis.set_xlabel("seconds into the run")
        axis.set_ylabel("ms")
        axis.set_yscale("log")
        axis.legend(loc="upper right", markerscale=3)
    summary = axes[-1][0]
    width = 0.8 / len(STORES)
    for index, store in enumerate(STORES.values()):
        for quantile, alpha in ((0.99, 0.35), (0.50, 1.0)):
            values = [
                percentile([s.accepted_ms for s in by_scenario[r] if s.store == store], quantile) for r in scenarios
            ]
            positions = [r_index + index * width for r_index in range(len(scenarios))]
            label = f"{store} p{int(quantile * 100)}"
            summary.bar(positions, values, width, color=COLOURS[store], alpha=alpha, label=label)
    summary.set_xticks([r_index + width for r_index in range(len(scenarios))], scenarios)
    summary.set_ylabel("ms (p50 solid, p99 light)")
    summary.set_title("freshness percentiles per store and scenario")
    summary.legend(ncol=3, fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _timed(samples: list[Sample], store: str) -> list[float]:
    return [s.accepted_ms for s in samples if s.store == store]
