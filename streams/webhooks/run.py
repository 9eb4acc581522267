"""The agent as a process: metrics on their port, the Kafka runner driving a `WebhookAgent` until SIGTERM."""

from __future__ import annotations

from prometheus_client import start_http_server

from streams.runners.base import BatchHandler
from streams.runners.kafka import KafkaRunner
from streams.webhooks.agent import WebhookAgent
from streams.webhooks.settings import WebhookSettings


def runner(settings: WebhookSettings) -> KafkaRunner:
    """The same runner the projections use: it commits a batch's offsets only after `process` returned."""
    return KafkaRunner(
        settings.kafka_bootstrap, batch_size=settings.batch_size, batch_timeout_s=settings.batch_timeout_s,
        max_poll_interval_ms=settings.max_poll_interval_ms,
    )  # fmt: skip


def run_agent(settings: WebhookSettings) -> int:
    """Consume until stopped; the exit code of the runner."""

    async def open_agent() -> BatchHandler:
        agent = await WebhookAgent.open(settings)
        # Metrics only once the database is reached: a stack's health check on /metrics then means "ready".
        if settings.metrics_port:
            start_http_server(settings.metrics_port, addr=settings.metrics_host)
        return agent

    return runner(settings).run(open_agent)
