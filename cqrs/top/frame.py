"""What one frame of `cqrs top` shows, computed from two scrapes and the projections' status."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cqrs.top.scrape import Match, Scrape, quantile, rate
from streams.status import ProjectionStatus

# Scrapes and probes are not traffic: the read API's p99 is the p99 of what clients asked.
_OPERATIONS = ("/metrics", "/health", "/health/ready", "/health/live")


def _client_route(labels: Mapping[str, str]) -> bool:
    return labels.get("route") not in _OPERATIONS


def _accepted(labels: Mapping[str, str]) -> bool:
    return labels.get("outcome") == "accepted"


def _refused(labels: Mapping[str, str]) -> bool:
    return labels.get("outcome") not in ("accepted", "replayed")


def _server_error(labels: Mapping[str, str]) -> bool:
    return labels.get("status", "").startswith("5")


@dataclass(frozen=True, slots=True)
class ProjectionRow:
    projection: str
    rate: float | None
    """Applied events/s over the interval (the worker's counter), else the checkpoint mirror's rate."""
    lag_events: int
    lag_seconds: float
    freshness_s: float | None
    """The newest applied event's age when applied (the worker's last batch)."""
    freshness_p99_s: float | None
    """p99 of the batches applied in the interval; None when none was."""
    dlq_events: int
    dlq_orders: int
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Relay:
    connector_running: bool | None
    tasks: dict[str, int]
    slot_active: bool | None
    unconfirmed_bytes: int | None
    refusing: bool


@dataclass(frozen=True, slots=True)
class Frame:
    seconds: float
    """The interval the rates and percentiles cover."""
    commands_per_s: float | None
    refused_per_s: float | None
    writer_p99_s: float | None
    writer_5xx_per_s: float | None
    readapi_per_s: float | None
    readapi_p99_s: float | None
    relay: Relay
    projections: list[ProjectionRow]
    webhook_lag: int | None
    down: frozenset[str]


def _gauge(scrape: Scrape, name: str) -> float | None:
    values = scrape.values(name)
    return max(values) if values else None


def relay_of(scrape: Scrape) -> Relay:
    running = _gauge(scrape, "writer_relay_connector_running")
    tasks = {state: int(sum(values)) for state, values in scrape.by("writer_relay_connector_tasks", "state").items()}
    active = _gauge(scrape, "writer_relay_slot_active")
    unconfirmed = _gauge(scrape, "writer_relay_slot_unconfirmed_bytes")
    return Relay(
        connector_running=None if running is None else running == 1,
        tasks={state: count for state, count in tasks.items() if count},
        slot_active=None if active is None else active == 1,
        unconfirmed_bytes=None if unconfirmed is None else int(unconfirmed),
        refusing=_gauge(scrape, "writer_relay_slot_refusing") == 1,
    )


def projection_row(before: Scrape, after: Scrape, status: ProjectionStatus) -> ProjectionRow:
    def this(labels: Mapping[str, str]) -> bool:
        return labels.get("projection") == status.projection

    def applied(labels: Mapping[str, str]) -> bool:
        return this(labels) and labels.get("outcome") == "applied"

    measured = rate(before, after, "streams_events_total", applied)
    freshness = after.values("streams_freshness_seconds", this)
    return ProjectionRow(
        projection=status.projection,
        rate=measured if measured is not None else status.rate,
        lag_events=status.lag_events,
        lag_seconds=status.lag_seconds,
        freshness_s=max(freshness) if freshness else None,
        freshness_p99_s=quantile(0.99, before, after, "streams_batch_freshness_seconds", this),
        dlq_events=status.dlq_events,
        dlq_orders=status.dlq_orders,
        error=status.error,
    )


def frame_of(before: Scrape, after: Scrape, statuses: Sequence[ProjectionStatus]) -> Frame:
    def per_s(app: str, name: str, match: Match) -> float | None:
        """A rate of an app that answered (its series may not exist yet: nothing counted is 0/s)."""
        return None if app in after.down else rate(before, after, name, match)

    lag = after.values("webhook_consumer_lag_events")
    return Frame(
        seconds=after.at - before.at,
        commands_per_s=per_s("writer", "writer_commands_total", _accepted),
        refused_per_s=per_s("writer", "writer_commands_total", _refused),
        writer_p99_s=quantile(0.99, before, after, "writer_command_duration_seconds"),
        writer_5xx_per_s=per_s("writer", "writer_request_duration_seconds_count", _server_error),
        readapi_per_s=per_s("readapi", "readapi_request_duration_seconds_count", _client_route),
        readapi_p99_s=quantile(0.99, before, after, "readapi_request_duration_seconds", _client_route),
        relay=relay_of(after),
        projections=[projection_row(before, after, status) for status in statuses],
        webhook_lag=int(sum(lag)) if lag else None,
        down=after.down,
    )
