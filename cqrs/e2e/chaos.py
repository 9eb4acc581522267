"""`cqrs chaos`: SIGKILL one part of the pipeline under steady load, restart it, and prove nothing was lost or doubled.

Per scenario: open-loop commands at `rate` for `seconds`; a third of the way in, the service's whole process group
gets SIGKILL; `down_s` later it is started again (`cqrs stack up NAME`). The load keeps going throughout: commands
without a definite answer are retried with their Idempotency-Key (`cqrs.e2e.load`). Then every read model must
converge to the reference model built from the 202 answers, within `converge_s`:

- lost on the wire: an accepted (order, version) that never reached `events.Order`;
- duplicated on the wire: events Debezium delivered again after a restart (allowed: at-least-once, by eventId);
- effects doubled: a read model showing the accepted version with other lines or totals, or a version beyond it;
- effects lost: a read model still short of the accepted version when the bound ran out.

If the connector's task is FAILED after a restart, the scenario restarts it as an operator would
(`cqrs connectors register` does the same) and reports that it had to.

The `rebalance` scenario kills no service: it runs two, then three workers per projection and SIGKILLs one of each
(`cqrs.e2e.rebalance`); besides the checks above, the analytics sums must grow by exactly the accepted commands'.

The `redis` scenario loses the checkpoint mirror, the cache and every pub/sub subscription (Redis keeps nothing on
disk). Besides the checks above, once Redis is back a `minVersion` read of an order applied before the kill must
answer at once and fresh (from the store's own version), and read-your-writes answers must be fresh and woken by
announcements again within 10 s (`cqrs.e2e.reads`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from connectors.client import ConnectClient
from connectors.settings import ConnectorSettings
from cqrs.apps import pipeline_stack
from cqrs.e2e.bench import Target, client
from cqrs.e2e.load import LoadResult, OpenLoop
from cqrs.e2e.mix import CommandMix
from cqrs.e2e.reads import ReadsAfterRestart, probe
from cqrs.e2e.rebalance import ExtraWorkers, Sums, analytics_sums, converged_sums, reference_sums
from cqrs.e2e.reference import Reference
from cqrs.e2e.wire import WireReport, end_offsets, read_since
from infra.process import kill_hard
from infra.settings import StackSettings
from streams.peek import ReadModels, Shown
from streams.projections import PROJECTIONS

log = logging.getLogger(__name__)
KNOWN_BEFORE_S = 3.0
"""The `redis` scenario reads an order accepted at least this long before the kill (so applied by then)."""
REBALANCE = "rebalance"
SCENARIOS = ("connect", "kafka", "streams", "readapi", "postgres", "redis", REBALANCE)
CONNECTOR = "orders-outbox"


@dataclass(slots=True)
class ScenarioResult:
    service: str
    load: LoadResult
    wire: WireReport = field(default_factory=WireReport)
    lost_on_wire: int = 0
    doubled: dict[str, int] = field(default_factory=dict)
    lost: dict[str, int] = field(default_factory=dict)
    converged_s: float | None = None
    converged_per_store_s: dict[str, float] = field(default_factory=dict)
    connector_restarted: bool = False
    restart_s: float = 0.0
    reads: ReadsAfterRestart | None = None
    """What readers saw after the restart (the `redis` scenario)."""
    sums_off: int | None = None
    """(status, currency) buckets whose analytics sums did not grow by the accepted commands' (`rebalance`)."""

    @property
    def ok(self) -> bool:
        return (
            (self.reads is None or self.reads.ok)
            and not self.sums_off
            and self.lost_on_wire == 0
            and not any(self.doubled.values())
            and not any(self.lost.values())
            and self.converged_s is not None
            and not self.load.anomalies
            and not self.load.rejected
            and self.load.unresolved == 0
        )

    def row(self) -> dict[str, Any]:
        return {
            "scenario": "2→3 workers, kill -9 one" if self.service == REBALANCE else f"kill -9 {self.service}",
            "accepted": len(self.load.accepted),
            "refused (retried)": sum(self.load.refused.values()),
            "rejected 4xx": sum(self.load.rejected.values()),
            "restart s": round(self.restart_s, 1),
            "events lost": self.lost_on_wire,
            "duplicated on wire": self.wire.duplicates,
            "effects doubled": sum(self.doubled.values()),
            "effects lost": sum(self.lost.values()),
            "converged s": round(self.converged_s, 1) if self.converged_s is not None else "no",
            **{f"{name} converged s": round(s, 1) for name, s in self.converged_per_store_s.items()},
            "connector restarted": "yes" if self.connector_restarted else "no",
            **(self.reads.row() if self.reads is not None else {}),
            **({"analytics sums off": self.sums_off} if self.sums_off is not None else {}),
            "verdict": "ok" if self.ok else "FAILED",
        }


def available(settings: StackSettings, service: str) -> bool:
    return service == REBALANCE or service in pipeline_stack(settings).by_name


async def run_scenario(
    target: Target,
    settings: StackSettings,
    service: str,
    *,
    rate: int,
    seconds: float,
    down_s: float,
    converge_s: float,
) -> ScenarioResult:
    bootstrap = f"127.0.0.1:{settings.ports.kafka}"
    since = await end_offsets(bootstrap)
    reference = Reference()
    readers = service == "redis"
    if readers:
        await asyncio.to_thread(pipeline_stack(settings, ["readapi"]).up)
    extra = ExtraWorkers()
    sums_before: Sums = {}
    if service == REBALANCE:
        sums_before = await analytics_sums(target.streams)
        extra.add()  # a second worker per projection beside the stack's own
    try:
        async with client(target) as http, _reader(settings) as reader:
            load = asyncio.create_task(
                OpenLoop(http, reference, CommandMix(reference, seed=len(service))).run(rate, seconds)
            )
            await asyncio.sleep(max(seconds / 3 - KNOWN_BEFORE_S, 0))
            known = _known_order(reference)  # accepted long enough before the kill to be applied by then
            await asyncio.sleep(min(KNOWN_BEFORE_S, seconds / 3))
            started = time.monotonic()
            if service == REBALANCE:
                await asyncio.to_thread(extra.kill_one_per_projection)
                await asyncio.sleep(seconds / 2 - seconds / 3)
                await asyncio.to_thread(extra.add)  # a third worker per projection
                connector_restarted = False
            else:
                await asyncio.to_thread(_kill, settings, service)
                await asyncio.sleep(down_s)
                connector_restarted = await asyncio.to_thread(_restart, settings, service)
            restart_s = time.monotonic() - started
            reads = await probe(http, reader, known, up_at=time.monotonic()) if readers and known else None
            result = ScenarioResult(
                service, await load, connector_restarted=connector_restarted, restart_s=restart_s, reads=reads
            )
    finally:
        await asyncio.to_thread(extra.stop)  # a last rebalance: the stack's own workers take everything back
    want = reference.expected()
    waited = time.monotonic()
    seen = await _converge(target, want, converge_s, result.converged_per_store_s)
    converged = all(view == want for view in seen.values())
    result.converged_s = time.monotonic() - waited if converged else None
    for name, view in seen.items():
        result.doubled[name] = sum(1 for order, shown_ in view.items() if _doubled(shown_, want[order]))
        result.lost[name] = sum(1 for order in want if order not in view or view[order].version < want[order].version)
    result.wire = await read_since(bootstrap, since, set(want))
    result.lost_on_wire = len(reference.versions() - result.wire.versions)
    if service == REBALANCE:
        expected = reference_sums(reference)
        grew = await converged_sums(target.streams, sums_before, expected, within=converge_s)
        result.sums_off = sum(1 for key in expected.keys() | grew.keys() if expected.get(key) != grew.get(key))
    return result


def _reader(settings: StackSettings) -> httpx.AsyncClient:
    from readapi.settings import ReadApiSettings
    from servicekit.principals import Role
    from servicekit.tokens import mint_token

    token = mint_token(ReadApiSettings(), subject="chaos", roles=[Role.STAFF])
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.ports.readapi}", headers=headers, timeout=30)


def _known_order(reference: Reference) -> tuple[str, int] | None:
    return next(((order.order_id, order.version) for order in reference.orders.values() if order.version), None)


def _kill(settings: StackSettings, service: str) -> None:
    pid = pipeline_stack(settings, [service]).status()[0].pid
    if pid is None:
        raise RuntimeError(f"{service} is not running: nothing to kill")
    kill_hard(pid)


def _restart(settings: StackSettings, service: str) -> bool:
    """Start the killed service again; then make sure the connector runs. True if its task had to be restarted."""
    pipeline_stack(settings, [service]).up()
    with ConnectClient(ConnectorSettings().connect_url) as connect:
        try:
            connect.wait_running(CONNECTOR, timeout_s=60, failed_grace_s=20)
            return False
        except Exception as error:  # FAILED (or not yet assigned) after the grace: the operator's restart
            log.warning("connector not running after restarting %s (%s); restarting its tasks", service, error)
            connect.restart_failed(CONNECTOR)
            connect.wait_running(CONNECTOR, timeout_s=120)
            return True


async def _converge(
    target: Target, want: dict[str, Shown], within: float, times: dict[str, float]
) -> dict[str, dict[str, Shown]]:
    """Read every store until each shows `want` (noting when, in `times`) or the bound ran out."""
    started = time.monotonic()
    orders = list(want)
    async with ReadModels(target.streams) as models:
        while True:
            seen = {name: await models.shown(name, orders) for name in PROJECTIONS}
            for name, view in seen.items():
                if view == want:
                    times.setdefault(name, time.monotonic() - started)
            if len(times) == len(PROJECTIONS) or time.monotonic() - started > within:
                return seen
            await asyncio.sleep(0.5)


def _doubled(seen: Shown, want: Shown) -> bool:
    """Beyond the accepted version, or at it with other lines or totals: an effect applied twice (or wrongly)."""
    return seen.version > want.version or (seen.version == want.version and seen != want)


def run(services: list[str], rate: int, seconds: float, down_s: float, converge_s: float) -> bool:
    """Every scenario in turn on the running pipeline; prints the table, saves JSON; True if all held."""
    from rich.console import Console

    from cqrs.bench.report import report
    from cqrs.e2e.bench import prepare
    from infra.settings import stack_settings

    console = Console()
    settings = stack_settings()
    with console.status("starting the pipeline (stack, writer, projections, connector)…"):
        target = prepare(settings)
        if {"readapi", "redis"} & set(services) and available(settings, "readapi"):
            pipeline_stack(settings, ["readapi"]).up()
    results = []
    for service in services:
        if not available(settings, service):
            console.print(f"[yellow]skipped[/] {service}: not part of this stack")
            continue
        with console.status(f"kill -9 {service} under {rate} commands/s…"):
            results.append(
                asyncio.run(
                    run_scenario(
                        target, settings, service, rate=rate, seconds=seconds, down_s=down_s, converge_s=converge_s
                    )
                )
            )
    options = {"rate": rate, "seconds": seconds, "down_s": down_s, "converge_bound_s": converge_s}
    report("chaos", [result.row() for result in results], options, console)
    return all(result.ok for result in results)
