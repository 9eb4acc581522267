"""Command line of the projections: `app` (mounted as `cqrs streams`) runs workers; `projections_app` (mounted as
`cqrs projections`) inspects and operates them: status, rebuild, prune, and the DLQ (list, replay, drop)."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import asdict
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from streams.dlq import DeadLetterQueue, KafkaDeadLetterLog
from streams.errors import StreamsError
from streams.projections import PROJECTIONS, projection_named
from streams.rebuild import RebuildProgress, rebuild
from streams.settings import StreamsSettings
from streams.sinks import targets_for
from streams.status import all_statuses

app = typer.Typer(help="Projection workers (Faust agents feeding MongoDB, Elasticsearch, ClickHouse).")
projections_app = typer.Typer(help="Inspect and operate the projections: status, rebuild, prune, DLQ.")
dlq_app = typer.Typer(help="The sequenced dead-letter queue of a projection (topic dlq.<projection>).")
projections_app.add_typer(dlq_app, name="dlq")
app.add_typer(projections_app, name="projections")
console = Console()

NameArg = Annotated[str, typer.Argument(help=f"Projection: {', '.join(PROJECTIONS)}.")]


def _settings() -> StreamsSettings:
    return StreamsSettings()


def _fail(error: Exception) -> typer.Exit:
    console.print(f"[red]error[/] {escape(str(error))}", highlight=False)
    return typer.Exit(1)


@app.command()
def worker(
    projection: Annotated[
        list[str] | None, typer.Option("--projection", "-p", help="Run only these (default: all, one process each).")
    ] = None,
    runner: Annotated[str, typer.Option(help="kafka (default: plain aiokafka) or faust (same contract).")] = "kafka",
    log_level: Annotated[str, typer.Option(help="debug, info, warning, error.")] = "info",
    workers: Annotated[
        int | None,
        typer.Option(
            min=1, help="Processes per projection, sharing its partitions (default: CQRS_STREAMS_WORKERS, 1)."
        ),
    ] = None,
    replica: Annotated[int, typer.Option(min=0, hidden=True, help="Which worker of its projection this is.")] = 0,
) -> None:
    """Run projection workers until SIGTERM/SIGINT; one projection runs in this process, several (or several workers
    of one) under a supervisor."""
    from streams.logs import configure_logging

    configure_logging(log_level)
    settings = _settings()
    names = projection or list(PROJECTIONS)
    for name in names:
        projection_named(name)  # fail fast on a typo
    count = workers or settings.workers
    if len(names) > 1 or count > 1:
        from streams.supervisor import supervise

        raise typer.Exit(supervise(names, ["--runner", runner, "--log-level", log_level], workers=count))
    from streams.run import run_projection

    try:
        raise typer.Exit(run_projection(settings, names[0], runner=runner, log_level=log_level, replica=replica))
    except StreamsError as error:
        raise _fail(error) from error


@projections_app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    region: Annotated[
        str | None, typer.Option(help="A read region's projections (`cqrs region up NAME`) instead of the primary's.")
    ] = None,
) -> None:
    """Per projection: generation, consumer lag (events and seconds), rate, applied events, DLQ size, and each worker
    with the partitions it owns and their lag."""
    settings = _settings() if region is None else _settings().in_region(region)
    statuses = asyncio.run(all_statuses(settings))
    if as_json:
        rows = [asdict(s) | {"lagEvents": s.lag_events, "lagSeconds": round(s.lag_seconds, 3)} for s in statuses]
        console.print_json(json.dumps(rows))
        return
    table = Table(title="projections")
    columns = ("projection", "gen", "target", "lag (events)", "lag (s)", "rate (ev/s)", "applied", "DLQ", "workers")
    for column in columns:
        table.add_column(column, justify="left" if column in ("projection", "target", "workers") else "right")
    for s in statuses:
        if s.error:
            table.add_row(s.projection, "-", f"[red]{escape(s.error)}[/]", "-", "-", "-", "-", "-", "-")
            continue
        workers = "\n".join(
            f"{escape(w.worker)}: p{','.join(map(str, w.partitions)) or '-'} lag {w.lag:,}" for w in s.workers
        )
        table.add_row(
            s.projection, str(s.generation or "-"), escape(s.target), f"{s.lag_events:,}", f"{s.lag_seconds:.1f}",
            f"{s.rate:,.0f}", f"{s.applied:,}", f"{s.dlq_events} ({s.dlq_orders} orders)", workers or "none",
        )  # fmt: skip
    console.print(table)


@projections_app.command("rebuild")
def rebuild_command(
    name: NameArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Fill a new generation from offset 0 while readers keep the current one, then switch them atomically."""
    settings = _settings()
    if not yes:
        typer.confirm(f"Rebuild {name} from the whole topic {settings.topic}?", abort=True)
    columns = (
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>10,.0f} ev/s"), TimeElapsedColumn(),
    )  # fmt: skip
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(f"rebuild {name}", total=None, rate=0.0)

        def show(progress: RebuildProgress) -> None:
            bar.update(task, completed=progress.events, total=progress.total, rate=progress.rate)

        try:
            result = asyncio.run(rebuild(settings, name, progress=show))
        except StreamsError as error:
            raise _fail(error) from error
    console.print(
        f"{name}: generation {result.previous} → {result.generation} ({escape(result.target)}); "
        f"{result.events:,} events in {result.elapsed_s:.1f} s = [bold]{result.rate:,.0f} events/s[/]; "
        f"{result.applied:,} applied, {result.parked:,} parked. Readers switched; the live worker follows within "
        f"{settings.target_check_s:.0f} s. Old generation kept: `cqrs projections prune {name}` drops it."
    )


@projections_app.command()
def prune(name: NameArg, yes: Annotated[bool, typer.Option("--yes", "-y")] = False) -> None:
    """Drop every generation of a projection that readers no longer see."""
    settings = _settings()

    async def old_generations() -> tuple[int | None, list[int]]:
        targets = targets_for(projection_named(name).store, settings)
        try:
            active = await targets.active()
            return active, [g for g in await targets.generations() if g != active]
        finally:
            await targets.close()

    active, doomed = asyncio.run(old_generations())
    if not doomed:
        console.print(f"{name}: only generation {active} exists")
        return
    if not yes:
        typer.confirm(f"Drop generations {doomed} of {name} (active: {active})?", abort=True)

    async def drop() -> None:
        from redis.asyncio import Redis

        from streams.checkpoints import Checkpoints

        targets = targets_for(projection_named(name).store, settings)
        redis = Redis.from_url(settings.redis_url)
        try:
            for generation in doomed:
                await targets.drop(generation)
                await Checkpoints(redis, settings.redis_prefix, name).forget(generation)
        finally:
            await targets.close()
            await redis.aclose()

    asyncio.run(drop())
    console.print(f"{name}: dropped generations {doomed}")


async def _open_dlq(settings: StreamsSettings, name: str) -> DeadLetterQueue:
    targets = targets_for(projection_named(name).store, settings)
    try:
        generation = await targets.active() or 1
    finally:
        await targets.close()
    dlq = DeadLetterQueue(KafkaDeadLetterLog(settings.kafka_bootstrap, settings.dlq_topic(name)), generation)
    await dlq.start()
    return dlq


@dlq_app.command("list")
def dlq_list(
    name: NameArg,
    order: Annotated[list[str] | None, typer.Option("--order", help="Only these orders.")] = None,
) -> None:
    """Parked events of the active generation, in topic order, with reason, error and attempts."""

    async def letters() -> list[list[str]]:
        dlq = await _open_dlq(_settings(), name)
        try:
            return [
                [d.aggregate_id, d.source, f"v{d.version}.{d.sequence}" if d.version else "?", d.event_type or "?",
                 d.reason, str(d.attempts), d.parked_at[:19], d.error[:80]]
                for d in dlq.ledger.letters(order)
            ]  # fmt: skip
        finally:
            await dlq.stop()

    rows = asyncio.run(letters())
    table = Table(title=f"{name}: {len(rows)} parked events")
    for column in ("order", "source", "position", "event", "reason", "attempts", "parked at (UTC)", "error"):
        table.add_column(column)
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    console.print(table)


@dlq_app.command("replay")
def dlq_replay(
    name: NameArg,
    order: Annotated[list[str] | None, typer.Option("--order", help="Only these orders (default: all parked).")] = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait for the worker to finish (0: don't wait).")] = 60,
) -> None:
    """Ask the worker that owns the orders to retry their parked events, in version order, and report the outcome."""

    async def replay() -> tuple[int, int, bool]:
        dlq = await _open_dlq(_settings(), name)
        try:
            aggregates = list(order or sorted(dlq.ledger.by_aggregate))
            if not aggregates:
                return 0, 0, True
            before = len(dlq.ledger.letters(aggregates))
            request_id = dlq.request_replay(aggregates)
            await dlq.flush()
            deadline = time.monotonic() + wait
            while request_id in dlq.ledger.requests and time.monotonic() < deadline:
                await dlq.refresh()
            return before, len(dlq.ledger.letters(aggregates)), request_id not in dlq.ledger.requests
        finally:
            await dlq.stop()

    before, after, finished = asyncio.run(replay())
    if before == 0 and finished:
        console.print(f"{name}: nothing parked")
    elif finished:
        console.print(f"{name}: replayed {before} parked events; {before - after} applied, {after} still parked")
    else:
        console.print(f"{name}: replay requested ({before} events); no worker finished it within {wait:.0f} s. "
                      "A running worker picks it up; a stopped one when it starts.")  # fmt: skip


@dlq_app.command("drop")
def dlq_drop(
    name: NameArg,
    event: Annotated[list[str] | None, typer.Option("--event", help="Source topic:partition:offset.")] = None,
    order: Annotated[list[str] | None, typer.Option("--order", help="Every parked event of these orders.")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y")] = False,
) -> None:
    """Discard parked events for good: no generation (and no rebuild) will apply them. Then replay what waited."""

    async def drop() -> list[str]:
        dlq = await _open_dlq(_settings(), name)
        try:
            sources = [s for s in (event or []) if s in dlq.ledger.entries]
            sources += [letter.source for letter in dlq.ledger.letters(order)] if order else []
            if sources and (yes or typer.confirm(f"Drop {len(sources)} parked events of {name}?")):
                dlq.drop(sources)
                await dlq.flush()
                return sources
            return []
        finally:
            await dlq.stop()

    dropped = asyncio.run(drop())
    console.print(f"{name}: dropped {len(dropped)} events" + (f": {', '.join(dropped)}" if dropped else ""))
