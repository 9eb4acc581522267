"""One scrape of every app's /metrics, and what two scrapes tell together (rates, percentiles of the interval).

The same exposition Prometheus reads, parsed with prometheus_client's parser: `cqrs top` shows what an operator's
dashboard would, without needing a Prometheus.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families

Labels = tuple[tuple[str, str], ...]
Match = Callable[[Mapping[str, str]], bool]


def everything(_: Mapping[str, str]) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Scrape:
    """Samples by name, each a list of (labels, value); `down` names the apps that did not answer."""

    at: float
    samples: dict[str, list[tuple[dict[str, str], float]]] = field(default_factory=dict)
    down: frozenset[str] = frozenset()

    def values(self, name: str, match: Match = everything) -> list[float]:
        return [value for labels, value in self.samples.get(name, []) if match(labels)]

    def total(self, name: str, match: Match = everything) -> float:
        return math.fsum(self.values(name, match))

    def by(self, name: str, label: str, match: Match = everything) -> dict[str, list[float]]:
        grouped: dict[str, list[float]] = {}
        for labels, value in self.samples.get(name, []):
            if match(labels):
                grouped.setdefault(labels.get(label, ""), []).append(value)
        return grouped

    def buckets(self, name: str, match: Match = everything) -> dict[float, float]:
        """A histogram's cumulative bucket counts summed over the matching series, by upper bound."""
        summed: dict[float, float] = {}
        for labels, value in self.samples.get(f"{name}_bucket", []):
            if match(labels):
                bound = float(labels["le"])
                summed[bound] = summed.get(bound, 0.0) + value
        return summed


def scrape(urls: Mapping[str, Iterable[str]], timeout_s: float = 3.0) -> Scrape:
    """Every app's /metrics (`urls`: app -> its targets); an app none of whose targets answer is `down`."""
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    down = set()
    with httpx.Client(timeout=timeout_s) as client:
        for app, targets in urls.items():
            answered = False
            for url in targets:
                try:
                    response = client.get(url)
                except httpx.HTTPError:
                    continue
                if response.status_code != 200:
                    continue
                answered = True
                for family in text_string_to_metric_families(response.text):
                    for sample in family.samples:
                        samples.setdefault(sample.name, []).append((dict(sample.labels), float(sample.value)))
            if not answered:
                down.add(app)
    return Scrape(time.time(), samples, frozenset(down))


def rate(before: Scrape, after: Scrape, name: str, match: Match = everything) -> float | None:
    """Per second over the interval (a series not there yet counts 0); a counter that went down (a restart) counts
    from zero."""
    seconds = after.at - before.at
    if seconds <= 0:
        return None
    now, then = after.total(name, match), before.total(name, match)
    return (now - then if now >= then else now) / seconds


def quantile(q: float, before: Scrape, after: Scrape, name: str, match: Match = everything) -> float | None:
    """The q-quantile of what a histogram observed between the scrapes, interpolated within buckets as Prometheus'
    histogram_quantile does; None when nothing was observed."""
    now, then = after.buckets(name, match), before.buckets(name, match)
    if any(now.get(bound, 0.0) < count for bound, count in then.items()):
        then = {}  # reset in between: what was counted since the restart
    counts = sorted((bound, count - then.get(bound, 0.0)) for bound, count in now.items())
    if not counts or counts[-1][1] <= 0:
        return None
    rank, lower, below = q * counts[-1][1], 0.0, 0.0
    for bound, count in counts:
        if count >= rank:
            if math.isinf(bound):
                return lower  # beyond the last finite bucket: its bound is the best we know
            return lower + (bound - lower) * (rank - below) / max(count - below, 1e-12)
        lower, below = bound, count
    return lower
