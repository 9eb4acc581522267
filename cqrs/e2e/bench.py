"""`cqrs bench e2e`: the sustainable command rate and how fresh each read model is (accepted → visible), for each
streams runner in turn (the streams app is restarted with each, then with its default again).

Per runner: first the sustainable rate (`sustainable`: vegeta posts a pregenerated mix open-loop, rates searched
upward until a projection's lag grows); then, per fixed rate, a realistic command mix posted open-loop by this
process for `seconds`, one accepted command in `sample_every` timed until each store shows its version. Both tables
give what a command costs in CPU in each part of the pipeline — the load generator excluded — hence the most
commands/s the machine's cores can carry; the JSON keeps the rows, the PNG beside it shows every sample over time.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from typing import Any

import httpx
from rich.console import Console

from cqrs.bench.report import latency_summary, report
from cqrs.e2e.cpu import CpuMeter
from cqrs.e2e.freshness import STORES, FreshnessProbe, Sample
from cqrs.e2e.load import IN_FLIGHT, Accepted, LoadResult, OpenLoop
from cqrs.e2e.mix import CommandMix
from cqrs.e2e.plot import draw
from cqrs.e2e.reference import Reference
from cqrs.e2e.sustainable import Step, best, find, quiet
from cqrs.e2e.verdict import Search
from infra.settings import StackSettings, stack_settings
from streams.settings import StreamsSettings

console = Console()


@dataclass(frozen=True, slots=True)
class Target:
    writer_url: str
    token: str
    streams: StreamsSettings
    region: str | None = None
    """A read region timed beside the primary (`--region`): the same commands, visible in its read models."""

    def probed(self) -> dict[str, StreamsSettings]:
        """The read models whose freshness is timed, by region."""
        regions = {"primary": self.streams}
        return regions | ({self.region: self.streams.in_region(self.region)} if self.region else {})


def prepare(settings: StackSettings, region: str | None = None) -> Target:
    """The whole pipeline up: services, writer, projection workers, the registered connector (and `region`'s apps)."""
    from connectors.cli import register
    from cqrs.apps import pipeline_stack
    from servicekit.principals import Role
    from servicekit.tokens import mint_token
    from writer.settings import WriterSettings

    pipeline_stack(settings, ["writer", "streams"]).up()
    if region is not None:
        from cqrs.regions.apps import region_stack, start_at_log_end

        start_at_log_end(settings, region)  # a new region times from now on; one running already continues
        region_stack(settings, region).up()
    register("orders-outbox", wait=90)
    token = mint_token(WriterSettings(), subject="bench-e2e", roles=[Role.STAFF])
    streams = StreamsSettings(ports=settings.ports)
    return Target(f"http://127.0.0.1:{settings.ports.writer}", token, streams, region)


def client(target: Target) -> httpx.AsyncClient:
    """Generous time-outs: an overloaded writer should show as latency, not as a storm of retried requests."""
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    headers = {"Authorization": f"Bearer {target.token}"}
    return httpx.AsyncClient(base_url=target.writer_url, headers=headers, limits=limits, timeout=30)


async def measure(
    target: Target, rate: int, seconds: float, sample_every: int
) -> tuple[LoadResult, dict[str, FreshnessProbe]]:
    """One load; a probe per region timed (the primary, and `target.region` if any) sees the same commands."""
    reference = Reference()
    probes = {name: FreshnessProbe(streams, every=sample_every) for name, streams in target.probed().items()}
    for probe in probes.values():
        await probe.start()

    def accepted(command: Accepted) -> None:
        for probe in probes.values():
            probe.on_accepted(command)

    async with client(target) as http:
        result = await OpenLoop(http, reference, CommandMix(reference, seed=rate)).run(rate, seconds, accepted)
    for probe in probes.values():
        await probe.stop(drain_s=60)
    return result, probes


def row(scenario: str, result: LoadResult, probe: FreshnessProbe, behind: dict[str, int]) -> dict[str, Any]:
    http = latency_summary(result.latencies_ms)
    cells: dict[str, Any] = {
        "scenario": scenario,
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


def use_runner(settings: StackSettings, runner: str | None) -> None:
    """Restart the streams app with `runner` (None: the worker's default)."""
    from cqrs.apps import StreamsWorker, pipeline_stack

    stack = pipeline_stack(settings, ["streams"])
    worker = stack.by_name["streams"]
    assert isinstance(worker, StreamsWorker)
    stack.down()
    worker.runner = runner
    stack.up()


def run(
    rates: list[int],
    seconds: float,
    sample_every: int,
    runners: list[str],
    search: Search | None,
    hold_s: float,
    region: str | None = None,
) -> None:
    settings = stack_settings()
    with console.status("starting the pipeline (stack, writer, projections, connector)…"):
        target = prepare(settings, region)
    steps: list[Step] = []
    rows = []
    samples: dict[str, list[Sample]] = {}
    cpu = CpuMeter(settings)
    try:
        for runner in runners:
            with console.status(f"restarting the streams app with the {runner} runner…"):
                use_runner(settings, runner)
            found = find(target, runner, search, hold_s, cpu, _shown) if search else []
            steps += found
            for rate in rates:
                scenario = f"{runner} {rate}/s"
                sustained = {"sustainable commands/s": best(found) or "none"} if search else {}
                for name, (cells, timed) in _freshness(target, cpu, scenario, rate, seconds, sample_every).items():
                    shown = scenario if name == "primary" else f"{scenario} in {name}"
                    samples[shown] = timed
                    rows.append({"scenario": shown} | sustained | {k: v for k, v in cells.items() if k != "scenario"})
    finally:
        with console.status("restarting the streams app with its default runner…"):
            use_runner(settings, None)
    recorded = {"rates": rates, "seconds": seconds, "sample_every": sample_every, "runners": runners, "region": region}
    if search:
        recorded |= {"search": asdict(search), "hold_s": hold_s}
        report("e2e-sustainable", [step.row() for step in steps], recorded, console)
    if rows:
        path = report("e2e", rows, recorded, console)
        console.print(f"saved {draw(samples, path.with_suffix('.png')).name} beside it")


def _freshness(
    target: Target, cpu: CpuMeter, scenario: str, rate: int, seconds: float, sample_every: int
) -> dict[str, tuple[dict[str, Any], list[Sample]]]:
    """Per region timed: its row and samples (the same load and CPU figures for each)."""
    with console.status(f"{scenario} for {seconds:.0f} s…"):
        asyncio.run(quiet(target, cpu))
        cpu.start()
        result, probes = asyncio.run(measure(target, rate, seconds, sample_every))
        spent = cpu.per_command(len(result.accepted))
        behind = {name: asyncio.run(probe.verify()) for name, probe in probes.items()}
    timed = ", ".join(f"{len(probe.samples):,} samples in {name}" for name, probe in probes.items())
    console.print(f"{scenario}: {len(result.accepted):,} accepted, {timed}")
    return {name: (row(scenario, result, probe, behind[name]) | spent, probe.samples) for name, probe in probes.items()}


def _shown(step: Step) -> None:
    verdict = "[green]sustainable[/]" if step.ok else "[red]not sustainable[/]"
    peaks = ", ".join(f"{name} {peak:,}" for name, peak in step.peaks.items())
    console.print(f"{step.runner} {step.rate} commands/s: {verdict} ({step.accepted:,} accepted; lag peaks {peaks})")
