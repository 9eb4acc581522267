"""Is an offered rate sustainable, and which rate to try next: pure decisions over what a step measured.

A rate is sustainable when the writer accepts (nearly) every command and every projection's consumer lag stays
bounded: no upward trend over the attack, and a backlog of at most one batch a few seconds after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

LagSeries = Sequence[tuple[float, int]]
"""(seconds since the attack started, lag in events) samples of one projection."""

TAIL_S = 10.0
"""The end of the attack whose lag must stay under the first half's."""
SLACK_S = 2.0
"""Events of this many seconds of load the lag may still grow by (batch windows and commit cadence jitter)."""
DRAIN_S = 10.0
"""How soon after the attack the backlog must be down to one batch."""
ACCEPTED_SHARE = 0.99
"""Share of commands the writer must answer 202: a writer that refuses load would make any lag look bounded."""


@dataclass(frozen=True, slots=True)
class LagVerdict:
    first_half_max: int
    tail_max: int
    bound: int
    """The tail may reach this: the first half's maximum plus SLACK_S of events."""
    drained_in_s: float | None
    """Seconds after the attack until the lag was down to one batch (None: not within DRAIN_S)."""

    @property
    def bounded(self) -> bool:
        return self.tail_max <= self.bound and self.drained_in_s is not None


def lag_verdict(during: LagSeries, after: LagSeries, *, seconds: float, rate: float, batch: int) -> LagVerdict:
    """`during`: samples over the attack of `seconds` at `rate`; `after`: samples from its end (t = 0) on."""
    tail_s = min(TAIL_S, seconds / 3)
    first = [lag for t, lag in during if t < seconds / 2]
    tail = [lag for t, lag in during if t >= seconds - tail_s]
    first_max = max(first, default=0)
    bound = first_max + round(SLACK_S * rate)
    drained = next((t for t, lag in after if t <= DRAIN_S and lag <= batch), None)
    return LagVerdict(first_max, max(tail, default=0), bound, drained)


def limits(lags: dict[str, LagVerdict], offered: int, accepted: int) -> list[str]:
    """What kept a rate from being sustained (empty: nothing did)."""
    found = []
    if offered <= 0 or accepted < ACCEPTED_SHARE * offered:
        found.append(f"writer: {offered - accepted:,} of {offered:,} not accepted")
    found += [f"{name}: lag grew" for name, v in lags.items() if v.tail_max > v.bound]
    found += [f"{name}: not drained" for name, v in lags.items() if v.drained_in_s is None]
    return found


def sustainable(lags: dict[str, LagVerdict], offered: int, accepted: int) -> bool:
    return not limits(lags, offered, accepted)


@dataclass(frozen=True, slots=True)
class Search:
    """Doubling from `start` until a rate fails, then bisection between the best sustained and the lowest failed
    rate, until they are within `resolution` of the former (or `most_steps` were tried)."""

    start: int = 50
    resolution: float = 0.35
    floor: int = 10
    most_steps: int = 6

    def next_rate(self, tried: Sequence[tuple[int, bool]]) -> int | None:
        """The rate to try after `tried` ((rate, sustainable) in order), or None when the search is done."""
        if not tried:
            return self.start
        if len(tried) >= self.most_steps:
            return None
        good = max((rate for rate, ok in tried if ok), default=0)
        failed = [rate for rate, ok in tried if not ok]
        if not failed:
            return good * 2
        bad = min(failed)
        if bad - good <= max(self.floor, self.resolution * good):
            return None
        return (good + bad) // 2
