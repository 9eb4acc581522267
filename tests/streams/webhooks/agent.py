"""The webhook delivery agent run by a test: the real `WebhookAgent` under the real `KafkaRunner`, in a thread with
its own event loop, on a consumer group of its own that starts at the topic's end (not at the topic's history)."""

from __future__ import annotations

import asyncio
import threading
import uuid
from types import TracebackType

from aiokafka import AIOKafkaConsumer, TopicPartition

from connectors.topics import topic_partitions
from streams.webhooks.agent import WebhookAgent
from streams.webhooks.run import runner
from streams.webhooks.settings import WebhookSettings


def agent_settings(**overrides: object) -> WebhookSettings:
    """Fast retries and a private group; metrics off (the test process may run several agents); dev mode (the
    receivers are plain http on loopback)."""
    defaults: dict[str, object] = {
        "dev_mode": True,
        "group_id": f"webhooks-test-{uuid.uuid4().hex[:8]}",
        "max_attempts": 4,
        "backoff_initial_s": 0.05,
        "backoff_max_s": 0.2,
        "backoff_jitter_s": 0.05,
        "timeout_s": 3.0,
        "endpoints_refresh_s": 0.0,
        "batch_timeout_s": 0.1,
        "metrics_port": 0,
    }
    return WebhookSettings(**(defaults | overrides))  # type: ignore[arg-type]


class AgentThread:
    def __init__(self, settings: WebhookSettings, *, start_at_end: bool = True) -> None:
        """`start_at_end=False`: the group starts at the topic's beginning (a topic of the test's own; and a second
        agent joining a group cannot commit its start)."""
        self.settings = settings
        self._start_at_end = start_at_end
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="webhook-agent", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.error: BaseException | None = None

    def __enter__(self) -> AgentThread:
        self._thread.start()
        if not self._ready.wait(30):
            raise TimeoutError("the webhook agent did not start")
        if self.error is not None:
            raise self.error
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        if self.error is not None and kind is None:
            raise self.error

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as error:
            self.error = error
            self._ready.set()

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        if self._start_at_end:
            await _start_group_at_end(self.settings)
        agent = await WebhookAgent.open(self.settings)
        self._ready.set()
        try:
            await runner(self.settings).consume(agent, stop=self._stop)
        finally:
            await agent.close()


async def _start_group_at_end(settings: WebhookSettings) -> None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, group_id=settings.group_id, enable_auto_commit=False
    )
    await consumer.start()
    try:
        numbers = await topic_partitions(settings.kafka_bootstrap, settings.topic)
        partitions = [TopicPartition(settings.topic, number) for number in numbers]
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.commit(dict(ends.items()))
    finally:
        await consumer.stop()
