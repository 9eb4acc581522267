"""What `cqrs top` derives from two scrapes: rates and histogram quantiles as Prometheus computes them."""

from __future__ import annotations

import pytest

from cqrs.top.scrape import Scrape, quantile, rate


def histogram(at: float, counts: dict[str, float], route: str = "/orders") -> Scrape:
    samples = {"h_bucket": [({"le": le, "route": route}, count) for le, count in counts.items()]}
    return Scrape(at, samples)


def test_quantile_interpolates_within_the_bucket_as_histogram_quantile_does() -> None:
    before = histogram(0, {"0.1": 10, "0.5": 10, "1.0": 10, "+Inf": 10})
    after = histogram(10, {"0.1": 60, "0.5": 140, "1.0": 160, "+Inf": 160})  # 50 / 80 / 20 new observations
    # p50 of 150: rank 75, the second bucket (0.1, 0.5] holds ranks 50-130: 0.1 + 0.4 * 25/80
    assert quantile(0.5, before, after, "h") == pytest.approx(0.225)
    assert quantile(0.99, before, after, "h") == pytest.approx(0.5 + 0.5 * (148.5 - 130) / 20)


def test_quantile_of_an_idle_interval_is_unknown_and_a_reset_counts_from_zero() -> None:
    sample = histogram(0, {"0.1": 5, "+Inf": 5})
    assert quantile(0.99, sample, histogram(5, {"0.1": 5, "+Inf": 5}), "h") is None
    restarted = histogram(5, {"0.1": 0, "+Inf": 2})  # a restarted process: two slow answers since
    assert quantile(0.5, sample, restarted, "h") == 0.1  # beyond the last finite bound: that bound


def test_rate_is_per_second_and_survives_a_restart() -> None:
    def counter(at: float, value: float) -> Scrape:
        return Scrape(at, {"c_total": [({"outcome": "accepted"}, value)]})

    assert rate(counter(0, 100), counter(4, 300), "c_total") == 50
    assert rate(counter(0, 100), counter(4, 40), "c_total") == 10  # restarted: 40 since
    assert rate(Scrape(0), counter(2, 10), "c_total") == 5  # the series appeared in between
