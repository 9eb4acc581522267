"""`cqrs bench …`: benchmarks against the real services; each prints a table and saves JSON under bench-results/."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(help="Benchmarks on the real stack (tables on screen, JSON in bench-results/).", no_args_is_help=True)


@app.command()
def relay(
    rate: Annotated[list[int] | None, typer.Option(help="Command rates to measure latency at.")] = None,
    seconds: Annotated[float, typer.Option(help="Seconds per rate.")] = 10.0,
    max_events: Annotated[int, typer.Option(help="Outbox rows for the maximum-rate run.")] = 30_000,
) -> None:
    """Commit → Kafka latency at fixed command rates, and the relay's maximum events/s."""
    from cqrs.bench.relay import run

    run(rate or [100, 500], seconds, max_events)


@app.command()
def writer(
    clients: Annotated[list[int] | None, typer.Option(help="Concurrent clients (one run each).")] = None,
    seconds: Annotated[float, typer.Option(help="Seconds per run.")] = 10.0,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes of the writer.")] = 2,
    grpc: Annotated[bool, typer.Option(help="HTTP (vegeta) and gRPC (ghz) side by side, create-order only.")] = False,
) -> None:
    """Commands/s and latency percentiles of the writer over HTTP with concurrent clients (and gRPC: `--grpc`)."""
    from cqrs.bench.writer import run

    run(clients or [8, 32], seconds, workers, grpc=grpc)


@app.command()
def projections(
    events: Annotated[int, typer.Option(help="Synthetic events preloaded on a private topic.")] = 200_000,
    faust: Annotated[bool, typer.Option(help="Also measure the Faust worker processes (as deployed).")] = True,
    workers: Annotated[
        str | None, typer.Option(help="Instead: each projection with these worker counts, e.g. 1,2,3 (events/s, CPU).")
    ] = None,
) -> None:
    """Raw consume rate, each store's raw bulk ingest, each projection's events/s and all three together, rebuilds."""
    import asyncio

    from cqrs.bench.projections import bench, rows
    from cqrs.bench.report import report
    from streams.settings import StreamsSettings

    if workers:
        from cqrs.bench.projections import workers_bench

        counts = [int(part) for part in workers.split(",")]
        report("projections-workers", asyncio.run(workers_bench(StreamsSettings(), events, counts)), {"events": events})
        return

    result = asyncio.run(bench(StreamsSettings(), events, faust=faust))
    report("projections", rows(result), {"events": result.events, "orders": result.orders, "faust": faust})


@app.command("rebuild")
def rebuild(
    events: Annotated[
        int, typer.Option(help="Synthetic events on the private topic each projection rebuilds from.")
    ] = 1_000_000,
) -> None:
    """A full rebuild of each projection, timed: events/s and seconds per projection."""
    import asyncio

    from cqrs.bench.projections import rebuild_bench
    from cqrs.bench.report import report
    from streams.settings import StreamsSettings

    report("rebuild", asyncio.run(rebuild_bench(StreamsSettings(), events)), {"events": events})


@app.command()
def e2e(
    rate: Annotated[list[int] | None, typer.Option(help="Command rates for the freshness table (open loop).")] = None,
    seconds: Annotated[float, typer.Option(help="Seconds per freshness rate.")] = 20.0,
    sample_every: Annotated[int, typer.Option(help="Time one accepted command in this many.")] = 10,
    runner: Annotated[
        list[str] | None, typer.Option(help="Streams runners to measure, one after the other (default: faust, kafka).")
    ] = None,
    search: Annotated[bool, typer.Option(help="Search the sustainable rate (vegeta, open loop).")] = True,
    freshness: Annotated[bool, typer.Option(help="Time accepted → visible at the --rate rates.")] = True,
    hold: Annotated[float, typer.Option(min=3, help="Seconds each rate of the search is held.")] = 60.0,
    start_rate: Annotated[int, typer.Option(min=1, help="First rate of the search (doubled until one fails).")] = 50,
    most_steps: Annotated[int, typer.Option(min=1, help="Most rates tried per runner.")] = 6,
    region: Annotated[
        str | None, typer.Option(help="Also time freshness in this read region (started if down), same commands.")
    ] = None,
) -> None:
    """Per streams runner: the sustainable rate (every projection's lag bounded while vegeta posts commands), then
    accepted → visible in every read model at fixed rates; CPU per command and component, load generator excluded."""
    from cqrs.e2e.bench import run
    from cqrs.e2e.verdict import Search

    runners = runner or ["faust", "kafka"]
    unknown = sorted(set(runners) - {"faust", "kafka"})
    if unknown:
        raise typer.BadParameter(f"unknown runner {', '.join(unknown)}: faust or kafka", param_hint="--runner")
    if not (search or freshness):
        raise typer.BadParameter("nothing to measure: drop --no-search or --no-freshness", param_hint="--search")
    steps = Search(start=start_rate, most_steps=most_steps) if search else None
    run((rate or [100]) if freshness else [], seconds, sample_every, runners, steps, hold, region)


@app.command()
def readapi(
    clients: Annotated[list[int] | None, typer.Option(help="Concurrent clients (one run each).")] = None,
    seconds: Annotated[float, typer.Option(help="Seconds per scenario and client count.")] = 5.0,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes of the read API.")] = 2,
    orders: Annotated[int, typer.Option(help="Orders seeded into the bench's own read models.")] = 1000,
    view: Annotated[
        list[str] | None, typer.Option(help="Scenario groups: detail, list, search, analytics (default: all).")
    ] = None,
) -> None:
    """Cached/uncached detail, lists (every filter and sort, keyset), search and analytics: req/s and p50/p99 with
    concurrent clients; the list projection's events/s against PostgreSQL's raw batched upserts."""
    from cqrs.bench.readapi import run

    run(clients or [4, 32], seconds, workers, orders, view)


@app.command("import")
def import_(
    orders: Annotated[int, typer.Option(min=1, help="create-order lines per import.")] = 100_000,
    chunk_lines: Annotated[int, typer.Option(min=1, help="Lines per batch request.")] = 5_000,
    in_flight: Annotated[int, typer.Option(min=1, help="Batch requests in flight at once.")] = 2,
    single_seconds: Annotated[float, typer.Option(help="Seconds of single commands (vegeta) per scenario.")] = 10.0,
    drain_timeout: Annotated[float, typer.Option(help="Seconds to wait for the projections to drain.")] = 120.0,
    url: Annotated[str | None, typer.Option(help="A writer to use instead of the stack's writer app.")] = None,
) -> None:
    """Lines/s of `cqrs import` with the projections running and stopped, and of a rerun, beside the single-command
    rate of the same writer in the same run (vegeta); the projections' lag when the import ends."""
    from cqrs.bench.importer import run

    run(orders, chunk_lines, in_flight, single_seconds, drain_timeout, url)
