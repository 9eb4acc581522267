"""`cqrs bench e2e`: open-loop command load at fixed rates and how fresh each read model is (accepted → visible).

Per rate: a realistic command mix posted open-loop for `seconds`; one accepted command in `sample_every` is timed
until each store shows its version. The table gives p50/p95/p99 per store and rate next to the writer's own
latency, and what a command costs in CPU in each part of the pipeline (hence the most commands/s the machine's
cores can carry); the JSON keeps the rows, the PNG beside it shows every sample over time.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx
import psutil
from rich.console import Console

from cqrs.bench.report import latency_summary, report
from cqrs.e2e.freshness import STORES, FreshnessProbe, Sample
from cqrs.e2e.load import IN_FLIGHT, LoadResult, OpenLoop
from cqrs.e2e.mix import CommandMix
from cqrs.e2e.plot import draw
from cqrs.e2e.reference import Reference
from infra.settings import StackSettings, stack_settings
from streams.settings import StreamsSettings

console = Console()


@dataclass(frozen=True, slots=True)
class Target:
    writer_url: str
    token: str
    streams: StreamsSettings


def prepare(settings: StackSettings) -> Target:
    """The whole pipeline up: services, writer, projection workers, the registered connector."""
    from connectors.cli import register
    from cqrs.apps import pipeline_stack
    from servicekit.principals import Role
    from servicekit.tokens import mint_token
    from writer.settings import WriterSettings

    pipeline_stack(settings, ["writer", "streams"]).up()
    register("orders-outbox", wait=90)
    token = mint_token(WriterSettings(), subject="bench-e2e", roles=[Role.STAFF])
    return Target(f"http://127.0.0.1:{settings.ports.writer}", token, StreamsSettings(ports=settings.ports))


def client(target: Target) -> httpx.AsyncClient:
    """Generous time-outs: an overloaded writer should show as latency, not as a storm of retried requests."""
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    headers = {"Authorization": f"Bearer {target.token}"}
    return httpx.AsyncClient(base_url=target.writer_url, headers=headers, limits=limits, timeout=30)


async def measure(target: Target, rate: int, seconds: float, sample_every: int) -> tuple[LoadResult, FreshnessProbe]:
    reference = Reference()
    probe = FreshnessProbe(target.streams, every=sample_every)
    await probe.start()
    async with client(target) as http:
        result = await OpenLoop(http, reference, CommandMix(reference, seed=rate)).run(rate, seconds, probe.on_accepted)
    await probe.stop(drain_s=60)
    return result, probe


class CpuMeter:
    """CPU each part of the pipeline spent on a rate's commands, from the load's start until every sample was
    visible: what a command costs, and so the most commands/s this machine's cores could carry."""

    def __init__(self, settings: StackSettings) -> None:
        from cqrs.apps import pipeline_stack

        self._stack = pipeline_stack(settings, list(pipeline_stack(settings).by_name))
        self._before: dict[str, float] = {}

    def start(self) -> None:
        self._before = self._reading()

    def per_command(self, commands: int) -> dict[str, Any]:
        after = self._reading()
        spent = {name: after[name] - self._before.get(name, 0.0) for name in after}
        total = sum(spent.values())
        cells: dict[str, Any] = {
            f"cpu ms/cmd {name}": round(seconds * 1000 / max(commands, 1), 2)
            for name, seconds in sorted(spent.items(), key=lambda item: -item[1])
            if seconds * 1000 / max(commands, 1) >= 0.05
        }
        cells["cpu ms/cmd total"] = round(total * 1000 / max(commands, 1), 2)
        cores = psutil.cpu_count() or 1
        cells[f"max commands/s on {cores} cores"] = round(cores * commands / total) if total else None
        return cells

    def _reading(self) -> dict[str, float]:
        used = self._stack.cpu_seconds()
        times = psutil.Process().cpu_times()
        used["load generator"] = times.user + times.system
        return used


def row(result: LoadResult, probe: FreshnessProbe, behind: dict[str, int]) -> dict[str, Any]:
    http = latency_summary(result.latencies_ms)
    cells: dict[str, Any] = {
        "scenario": f"{result.rate}/s for {result.seconds:.0f} s",
        "achieved commands/s": round(result.achieved_rate, 1),
        "accepted": len(result.accepted),
        "refused (retried)": sum(result.refused.values()),
        "http p50 ms": http["p50_ms"],
        "http p99 ms": http["p99_ms"],
    }
    for store in STORES.values():
        timed = [s.accepted_ms for s in probe.samples if s.store == store]
        summary = latency_summary(timed)
        cells |= {
            f"{store} p50 ms": summary["p50_ms"],
            f"{store} p95 ms": summary["p95_ms"],
            f"{store} p99 ms": summary["p99_ms"],
        }
    cells["samples/store"] = len(probe.samples) // len(STORES)
    cells["never visible"] = probe.pending
    cells["store behind announcement"] = sum(behind.values())
    return cells


def run(rates: list[int], seconds: float, sample_every: int) -> None:
    settings = stack_settings()
    with console.status("starting the pipeline (stack, writer, projections, connector)…"):
        target = prepare(settings)
    rows = []
    samples: dict[int, list[Sample]] = {}
    cpu = CpuMeter(settings)
    for rate in rates:
        with console.status(f"{rate} commands/s for {seconds:.0f} s…"):
            cpu.start()
            result, probe = asyncio.run(measure(target, rate, seconds, sample_every))
            spent = cpu.per_command(len(result.accepted))
            behind = asyncio.run(probe.verify())
        rows.append(row(result, probe, behind) | spent)
        console.print(f"{rate} commands/s: {len(result.accepted):,} accepted, {len(probe.samples):,} samples")
        samples[rate] = probe.samples
    path = report("e2e", rows, {"rates": rates, "seconds": seconds, "sample_every": sample_every}, console)
    console.print(f"saved {draw(samples, path.with_suffix('.png')).name} beside it")
