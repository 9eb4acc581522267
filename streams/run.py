"""Run one projection in this process with the chosen runner, until stopped or retired."""

from __future__ import annotations

import asyncio
import os

from streams import metrics
from streams.projections import PROJECTIONS, projection_named
from streams.runners.base import BatchHandler, Runner
from streams.settings import StreamsSettings
from streams.sinks import targets_for
from streams.worker import ProjectionWorker, created


async def _active_generation(settings: StreamsSettings, name: str) -> int:
    targets = targets_for(projection_named(name).store, settings)
    try:
        return await created(targets)
    finally:
        await targets.close()


def metrics_port(settings: StreamsSettings, name: str, replica: int = 0) -> int:
    """Where worker `replica` of projection `name` serves metrics: the projections side by side, then the next
    worker of each (0: none)."""
    if not settings.metrics_port:
        return 0
    return settings.metrics_port + replica * len(PROJECTIONS) + list(PROJECTIONS).index(name)


def run_projection(
    settings: StreamsSettings, name: str, *, runner: str = "kafka", log_level: str = "info", replica: int = 0
) -> int:
    """The process exit code: 0 stopped, 75 retired (restart to follow the new generation), 76 fenced (restart
    clean), 70 crashed. `replica`: which of the projection's workers this is (metrics port, member name)."""
    # The consumer group names the generation, and Faust needs it before its loop starts.
    generation = asyncio.run(_active_generation(settings, name))
    metrics.serve(metrics_port(settings, name, replica), settings.metrics_host)

    async def open_handler() -> BatchHandler:
        return await ProjectionWorker.open(settings, name, generation=generation)

    chosen: Runner
    if runner == "faust":
        from streams.runners.faust import FaustRunner

        chosen = FaustRunner(
            settings.kafka_bootstrap,
            settings.group_id(name, generation),
            settings.topic,
            batch_size=settings.batch_size,
            batch_timeout_s=settings.batch_window_s(name),
            loglevel=log_level,
            session_timeout_s=settings.session_timeout_s,
            heartbeat_s=settings.heartbeat_s,
        )
    elif runner == "kafka":
        from streams.runners.kafka import KafkaRunner

        chosen = KafkaRunner(
            settings.kafka_bootstrap,
            batch_size=settings.batch_size,
            batch_timeout_s=settings.batch_window_s(name),
            in_flight=2,  # the engine decides the next batch while one is written (`streams.engine`)
            session_timeout_s=settings.session_timeout_s,
            heartbeat_s=settings.heartbeat_s,
            client_id=f"{name}-w{replica}-{os.getpid()}",
        )
    else:
        raise ValueError(f"unknown runner {runner!r}: faust or kafka")
    return chosen.run(open_handler)
