"""A minimal Faust worker for the Kafka 4 smoke test: consume N records of a topic, commit, say so on stdout.

Run as `python -m tests.infra.faust_probe BOOTSTRAP TOPIC GROUP COUNT DATADIR worker`.
"""

from __future__ import annotations

import asyncio
import sys

import faust

bootstrap, topic_name, group, count, datadir = sys.argv[1:6]
sys.argv = [sys.argv[0], *sys.argv[6:]]

app = faust.App(
    group,
    broker=f"kafka://{bootstrap}",
    store="memory://",
    datadir=datadir,
    web_enabled=False,
    topic_disable_leader=True,
    consumer_auto_offset_reset="earliest",
)
topic = app.topic(topic_name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
seen: list[bytes] = []


@app.agent(topic)
async def consume(stream: faust.StreamT[bytes]) -> None:
    async for value in stream:
        seen.append(value)
        if len(seen) == int(count):
            # Faust acks an event when the agent asks for the next one, so commit once this step has returned.
            asyncio.get_running_loop().call_later(1.0, lambda: asyncio.ensure_future(commit_and_report()))


async def commit_and_report() -> None:
    await app.commit(app.consumer.assignment())
    print("COMMITTED", flush=True)


if __name__ == "__main__":
    app.main()
