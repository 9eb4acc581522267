"""The sustainable-rate decisions of `cqrs bench e2e` on fabricated lag series: a growing backlog, one that never
drains, and a writer that refuses load must each fail the rate; a lag that only jitters must not."""

from __future__ import annotations

from cqrs.e2e.verdict import DRAIN_S, LagVerdict, Search, lag_verdict, limits, sustainable

RATE = 100
SECONDS = 60.0
BATCH = 2000


def _steady(peak: int) -> list[tuple[float, int]]:
    """A lag that jitters between 0 and `peak` (batch windows, commit cadence) but does not grow."""
    return [(float(t), peak if t % 3 == 0 else peak // 4) for t in range(int(SECONDS))]


def _growing(per_second: int) -> list[tuple[float, int]]:
    """The projection falls `per_second` events further behind every second."""
    return [(float(t), 100 + per_second * t) for t in range(int(SECONDS))]


def _draining(start: int, per_second: int) -> list[tuple[float, int]]:
    return [(t * 0.5, max(0, start - int(per_second * t * 0.5))) for t in range(120)]


def test_a_lag_that_only_jitters_is_bounded() -> None:
    verdict = lag_verdict(_steady(300), _draining(300, 1000), seconds=SECONDS, rate=RATE, batch=BATCH)

    assert verdict.bounded
    assert verdict.first_half_max == verdict.tail_max == 300
    assert verdict.drained_in_s == 0.0  # 300 events are already within one batch


def test_a_growing_backlog_is_not_bounded_even_if_it_drains_afterwards() -> None:
    # 10 events/s behind at 100/s offered: 10% short, 600 events after a minute.
    verdict = lag_verdict(_growing(10), _draining(700, 1000), seconds=SECONDS, rate=RATE, batch=BATCH)

    assert verdict.tail_max > verdict.bound
    assert not verdict.bounded


def test_a_backlog_that_does_not_drain_within_the_window_is_not_bounded() -> None:
    stuck = [(t * 0.5, 5000) for t in range(40)]
    late = [(t * 0.5, 5000 if t * 0.5 < DRAIN_S + 1 else 0) for t in range(40)]

    for after in (stuck, late):
        verdict = lag_verdict(_steady(300), after, seconds=SECONDS, rate=RATE, batch=BATCH)
        assert verdict.drained_in_s is None
        assert not verdict.bounded


def test_a_rate_is_sustainable_only_if_every_projection_is_bounded_and_the_writer_accepts_it() -> None:
    fine = LagVerdict(first_half_max=300, tail_max=300, bound=500, drained_in_s=1.0)
    growing = LagVerdict(first_half_max=300, tail_max=900, bound=500, drained_in_s=1.0)

    assert sustainable({"a": fine, "b": fine}, offered=6000, accepted=6000)
    assert not sustainable({"a": fine, "b": growing}, offered=6000, accepted=6000)
    # A writer that answers 503 to 5% of commands keeps every lag low: that is not a sustained rate.
    assert not sustainable({"a": fine}, offered=6000, accepted=5700)
    assert not sustainable({"a": fine}, offered=0, accepted=0)


def test_the_table_says_what_limited_a_rate() -> None:
    grew = LagVerdict(first_half_max=300, tail_max=900, bound=500, drained_in_s=None)
    fine = LagVerdict(first_half_max=300, tail_max=300, bound=500, drained_in_s=1.0)

    assert limits({"search": fine}, offered=6000, accepted=6000) == []
    assert limits({"search": fine, "analytics": grew}, offered=6000, accepted=4000) == [
        "writer: 2,000 of 6,000 not accepted",
        "analytics: lag grew",
        "analytics: not drained",
    ]


def test_the_search_doubles_until_a_rate_fails_then_bisects() -> None:
    search = Search(start=50, resolution=0.35, most_steps=10)
    capacity = 330
    tried: list[tuple[int, bool]] = []
    while (rate := search.next_rate(tried)) is not None:
        tried.append((rate, rate <= capacity))

    assert [rate for rate, _ in tried] == [50, 100, 200, 400, 300]
    # Stops once the best sustained and the lowest failed rate are within 35% of the former.
    assert max(rate for rate, ok in tried if ok) == 300


def test_the_search_goes_below_its_start_when_the_start_fails_and_stops_after_most_steps() -> None:
    assert Search(start=50).next_rate([(50, False)]) == 25
    assert Search(start=50).next_rate([(50, False), (25, True)]) == 37
    assert Search(start=50, most_steps=2).next_rate([(50, True), (100, True)]) is None
