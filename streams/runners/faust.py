"""The Faust runner: one Faust app (= one consumer group) per projection generation, one agent taking batches.

Faust acks an event when the agent asks for the next one, and `Stream.take_events` acks a whole batch in a
`finally` when the agent moves on, even when the agent raised or was cancelled, after which Faust's committer would
commit offsets of events that were never applied. So the agent holds one extra reference on every message of a
batch and releases it only after the handler returned (= the batch is durable): a failed or interrupted batch stays
unacknowledged, and Faust commits only offsets below it. A batch that raises stops the process at once
(fail-stop): its events are delivered again to the restarted worker.

Faust commits an offset only once every event up to it is acknowledged (`Consumer.ack`, called by `Message.ack` when
the last reference goes). A durable batch is therefore acknowledged in full, whichever of the two references is left
(see `_acknowledge`), and committed at once, so a killed worker reads at most the batch in flight again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import tempfile
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

import faust

from streams.errors import Fenced
from streams.logs import logging_config
from streams.records import Record
from streams.runners.base import (
    EXIT_CRASHED,
    EXIT_FENCED,
    EXIT_OK,
    EXIT_RETIRED,
    BatchHandler,
    HandlerFactory,
    Runner,
    Settling,
)

log = logging.getLogger(__name__)


@dataclass
class FaustRunner(Runner):
    """Runs one projection generation as a Faust app: `group_id` names the generation's consumer group."""

    bootstrap: str
    group_id: str
    topic: str
    _: KW_ONLY
    batch_size: int
    batch_timeout_s: float
    loglevel: str = "warning"
    tick_s: float = 1.0
    session_timeout_s: float = 10.0
    heartbeat_s: float = 3.0
    _exit_code: int = field(default=EXIT_OK, init=False)

    def run(self, open_handler: HandlerFactory) -> int:
        with tempfile.TemporaryDirectory(prefix="faust-") as datadir:
            app = self._app(datadir)
            self._wire(app, open_handler)
            worker = faust.Worker(
                app,
                loglevel=self.loglevel,
                logging_config=logging_config(self.loglevel),
                quiet=True,
                redirect_stdouts=False,
            )
            with contextlib.suppress(SystemExit):  # mode's worker always exits; the code is ours
                worker.execute_from_commandline()
        return self._exit_code

    def _app(self, datadir: str) -> faust.App:
        return faust.App(
            self.group_id,
            broker=f"kafka://{self.bootstrap}",
            store="memory://",
            datadir=datadir,
            web_enabled=False,
            topic_disable_leader=True,
            consumer_auto_offset_reset="earliest",
            # Shutdown must not wait for events we deliberately keep unacknowledged (a batch in flight).
            stream_wait_empty=False,
            stream_buffer_maxsize=self.batch_size * 2,
            broker_commit_every=self.batch_size,
            broker_commit_interval=1.0,
            consumer_max_fetch_size=8 * 1024 * 1024,
            # A killed worker's partitions move on after this long (Faust's default is 60 s); the restarted worker
            # must wait for that before it gets them back.
            broker_session_timeout=self.session_timeout_s,
            broker_heartbeat_interval=self.heartbeat_s,
        )

    def _wire(self, app: faust.App, open_handler: HandlerFactory) -> None:
        topic = app.topic(self.topic, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
        opened: asyncio.Future[BatchHandler] | None = None
        lock = asyncio.Lock()

        async def handler() -> BatchHandler:
            nonlocal opened
            async with lock:
                if opened is None:
                    opened = asyncio.get_running_loop().create_future()
                    opened.set_result(await open_handler())
            return await opened

        @app.agent(topic, concurrency=1, name=f"project-{self.group_id}")
        async def project(stream: Any) -> None:
            target = await handler()
            events: list[Any] = []
            async for taken in stream.take_events(self.batch_size, within=self.batch_timeout_s):
                for event in taken:
                    event.message.incref()  # hold: see the module docstring
                events += taken
                room = self.batch_size - len(events)
                if room > 0 and _backlog(app, events) >= room:
                    continue  # catching up: see `_backlog`
                while events:  # the last window may overfill the batch: never more than batch_size at once
                    batch, events = events[: self.batch_size], events[self.batch_size :]
                    await _apply(app, target, batch)

        @app.timer(self.tick_s, name=f"tick-{self.group_id}")  # type: ignore[untyped-decorator]
        async def tick() -> None:
            target = await handler()
            try:
                await target.tick()
            except Fenced as error:
                log.warning("%s; stopping, to restart clean", error)
                sys.stderr.flush()
                os._exit(EXIT_FENCED)
            assignment = [tp for tp in app.consumer.assignment() if tp.topic == self.topic]
            highwaters = {tp.partition: app.consumer.highwater(tp) or 0 for tp in assignment}
            positions = {tp.partition: await app.consumer.position(tp) or 0 for tp in assignment}
            target.observe_highwaters(highwaters, positions)
            if target.retired.is_set() and self._exit_code == EXIT_OK:
                self._exit_code = EXIT_RETIRED
                os.kill(os.getpid(), signal.SIGTERM)

        @app.on_partitions_assigned.connect
        async def on_assigned(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
            (await handler()).assigned({tp.partition for tp in args[0] if tp.topic == self.topic})

        @app.on_partitions_revoked.connect
        async def on_revoked(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
            target = await handler()
            if isinstance(target, Settling):  # the batch in flight becomes durable (or fails) before they move on
                await target.settle()
            target.revoked({tp.partition for tp in args[0] if tp.topic == self.topic})

        @app.on_before_shutdown.connect
        async def on_shutdown(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
            if opened is not None and opened.done():
                await opened.result().close()


async def _apply(app: faust.App, target: BatchHandler, events: list[Any]) -> None:
    """Process a batch of held events, then acknowledge and commit them; any failure stops the process with the batch
    unacknowledged (see the module docstring)."""
    try:
        await target.process([_record(event) for event in events])
    except asyncio.CancelledError:
        raise  # shutting down mid-batch: the batch stays unacknowledged
    except Fenced as error:
        log.warning("%s; stopping without writing, to restart clean", error)
        sys.stderr.flush()
        os._exit(EXIT_FENCED)
    except BaseException:
        log.exception("a batch failed; stopping without committing it")
        sys.stderr.flush()
        os._exit(EXIT_CRASHED)
    _acknowledge(app, events)
    await _commit(app.consumer)


def _acknowledge(app: faust.App, events: list[Any]) -> None:
    """Acknowledge durable events to Faust: drop every reference left on each, ours and, when it has not run yet,
    `take_events`' own (its ack then finds the message acknowledged and does nothing).

    Only `Message.ack` tells the consumer, when it drops the last reference; `Message.decref` never does. A batch
    held across windows (`_backlog`) has had `take_events`' reference dropped for every window but the last before
    it is applied, so releasing our hold with `decref` left those events unacknowledged forever: Faust's commits
    stopped below the first of them while the projection went on applying."""
    sensors = app.sensors
    for event in events:
        message = event.message
        if message.ack(app.consumer, n=max(message.refcount, 1)):
            sensors.on_message_out(message.tp, message.offset, message)


async def _commit(consumer: Any) -> None:
    """Commit what is acknowledged now rather than at Faust's next `broker_commit_interval` (several batches at full
    speed), so that a killed worker reads at most the batch in flight again. A commit already running may have taken
    its offsets before these acknowledgements: wait for it first. Faust's committer stays the fallback."""
    try:
        await consumer.maybe_wait_for_commit_to_finish()
        await consumer.commit()
    except asyncio.CancelledError:
        raise
    except Exception as error:  # the events are applied; at worst they are delivered again
        log.warning("offset commit failed (%r); Faust's committer retries", error)


def _backlog(app: faust.App, events: list[Any]) -> int:
    """Events already in the log after these, on their partitions (Faust's last-seen high watermarks).

    `take_events` stops filling its buffer while a batch is processed, so each batch holds only what streamed in
    during one `within` window (a few hundred events), however far behind the worker is. When at least a batch's
    room of events is already waiting, the agent takes another window before processing: catching up then runs in
    full batches (fewer, larger writes), while a worker at the head of the log still processes every window at once.
    Only a backlog that large counts, so a log end that is not a real event (a transaction marker) never holds a
    batch back."""
    last: dict[Any, int] = {}
    for event in events:
        message = event.message
        last[message.tp] = max(last.get(message.tp, -1), message.offset)
    return sum(max((app.consumer.highwater(tp) or 0) - offset - 1, 0) for tp, offset in last.items())


def _record(event: Any) -> Record:
    message = event.message
    headers = tuple((name, value) for name, value in (message.headers or ()))
    timestamp_ms = int(message.timestamp * 1000)
    return Record(message.topic, message.partition, message.offset, message.key, message.value, timestamp_ms, headers)
