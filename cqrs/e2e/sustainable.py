"""The sustainable rate: the highest offered command rate at which every projection's lag stays bounded.

Each step seeds the orders its command mix needs (one batch request), waits until the projections are idle, then
vegeta posts the mix open-loop at the step's rate while the lag of every projection is sampled each second; after
the attack the lag must drain (`verdict`). CPU per command and component is read from the attack's start until the
projections committed everything, so it holds every part's work on those commands; vegeta and this process (the
sampler) are not in it.
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cqrs.bench.importer import batch_lines, import_orders
from cqrs.bench.loadgen import AttackResult, open_loop_argv, summarize_open_loop, write_json_targets
from cqrs.e2e.commands import CommandPlan
from cqrs.e2e.cpu import CpuMeter
from cqrs.e2e.errors import BacklogRemains, GeneratorFailed, SeedingFailed
from cqrs.e2e.lag import LagSampler, LagSamples
from cqrs.e2e.verdict import LagVerdict, Search, lag_verdict, limits, sustainable

if TYPE_CHECKING:
    from collections.abc import Callable

    from cqrs.e2e.bench import Target

IDLE_TIMEOUT_S = 300.0
"""Longest wait for the projections to work off an earlier step's backlog before the next step."""
IDLE_READING_S = 3.0
"""How long the stack's CPU is read without load before each step."""
SETTLE_TIMEOUT_S = 60.0
"""Longest wait after an attack for every committed offset to reach the log end (the CPU reading waits for it)."""


@dataclass(frozen=True, slots=True)
class Step:
    runner: str
    rate: int
    seconds: float
    commands: int
    attack: AttackResult
    lags: dict[str, LagVerdict]
    peaks: dict[str, int]
    cpu: dict[str, Any]

    @property
    def accepted(self) -> int:
        return self.attack.status_codes.get("202", 0)

    @property
    def ok(self) -> bool:
        return sustainable(self.lags, self.commands, self.accepted)

    def row(self) -> dict[str, Any]:
        refused = {code: n for code, n in self.attack.status_codes.items() if code != "202"}
        cells: dict[str, Any] = {
            "scenario": f"{self.runner} {self.rate}/s",
            "sustainable": "yes" if self.ok else "no",
            "limited by": "; ".join(limits(self.lags, self.commands, self.accepted)) or "-",
            "commands sent": self.commands,
            "sent commands/s": self.attack.sent_rate,
            "accepted commands/s": self.attack.throughput,
            "202 accepted": self.accepted,
            "not 202 (status: n)": ", ".join(f"{code}: {n}" for code, n in sorted(refused.items())) or "0",
            "http p50 ms": self.attack.p50_ms,
            "http p99 ms": self.attack.p99_ms,
        }
        for name, verdict in self.lags.items():
            cells[f"lag {name} peak/tail/bound"] = f"{self.peaks[name]}/{verdict.tail_max}/{verdict.bound}"
        drained = [verdict.drained_in_s for verdict in self.lags.values()]
        cells["lag drained s (slowest)"] = "no" if None in drained else round(max(filter(None, drained), default=0), 1)
        return cells | self.cpu


async def seed(target: Target, orders: int) -> list[str]:
    """`orders` pending orders of one line each, in one batch request (their ids, as the writer named them)."""
    if not orders:
        return []
    result = await import_orders(target.writer_url, target.token, batch_lines(uuid.uuid4().hex[:12], orders), 10_000, 1)
    if result["refused"] or len(result["order_ids"]) != orders:
        accepted = len(result["order_ids"])
        raise SeedingFailed(f"seeding {orders} orders: the writer refused {result['refused']}, accepted {accepted}")
    return list(result["order_ids"])


async def measure_step(target: Target, runner: str, rate: int, seconds: float, cpu: CpuMeter) -> Step:
    plan = CommandPlan.for_load(rate, seconds, seed=rate)
    seeded = await seed(target, plan.seeds)
    batch = target.streams.batch_size
    async with LagSampler(target.streams) as sampler:
        await _quiet(sampler, cpu)
        with tempfile.TemporaryDirectory() as work:
            targets, results = Path(work) / "targets.jsonl", Path(work) / "results.bin"
            commands = write_json_targets(targets, target.writer_url, plan.requests(seeded))
            cpu.start()
            argv = open_loop_argv(targets, results, rate=rate, seconds=seconds, token=target.token)
            during = await _attack(sampler, argv)
            after = LagSamples()
            await sampler.wait_drained(0, SETTLE_TIMEOUT_S, into=after)
            attack = summarize_open_loop(results)
    spent = cpu.per_command(attack.status_codes.get("202", 0))
    lags = {
        name: lag_verdict(series, after.series[name], seconds=seconds, rate=rate, batch=batch)
        for name, series in during.series.items()
    }
    return Step(runner, rate, seconds, commands, attack, lags, {name: during.peak(name) for name in lags}, spent)


async def quiet(target: Target, cpu: CpuMeter) -> None:
    """Wait until every projection has committed everything, then read the stack's idle CPU: a measurement starts
    from there, not from an earlier one's backlog."""
    async with LagSampler(target.streams) as sampler:
        await _quiet(sampler, cpu)


async def _quiet(sampler: LagSampler, cpu: CpuMeter) -> None:
    if not await sampler.wait_drained(0, IDLE_TIMEOUT_S):
        left = await sampler.sample()
        raise BacklogRemains(
            f"the projections still lag {left} events after {IDLE_TIMEOUT_S:.0f} s: is every worker running?"
            " (`cqrs projections status`, the streams log)"
        )
    await asyncio.to_thread(cpu.measure_idle, IDLE_READING_S)


async def _attack(sampler: LagSampler, argv: list[str]) -> LagSamples:
    """Run vegeta to its end, sampling every projection's lag each second meanwhile."""
    during = LagSamples()
    process = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL)
    waiting = asyncio.ensure_future(process.wait())
    loop = asyncio.get_running_loop()
    due = loop.time()
    while not waiting.done():
        during.add(await sampler.sample())
        due += 1.0
        await asyncio.wait({waiting}, timeout=max(0.0, due - loop.time()))
    if process.returncode:
        raise GeneratorFailed(f"vegeta attack exited with {process.returncode}")
    return during


def find(
    target: Target, runner: str, search: Search, seconds: float, cpu: CpuMeter, shown: Callable[[Step], None]
) -> list[Step]:
    """The steps of one runner's search, in the order tried."""
    steps: list[Step] = []
    while (rate := search.next_rate([(s.rate, s.ok) for s in steps])) is not None:
        step = asyncio.run(measure_step(target, runner, rate, seconds, cpu))
        shown(step)
        steps.append(step)
    return steps


def best(steps: list[Step]) -> int | None:
    return max((s.rate for s in steps if s.ok), default=None)
