"""`cqrs top`: scrape, wait an interval, scrape again, show what happened in between; in place until Ctrl-C."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live

from cqrs.apps import StreamsWorker
from cqrs.top.frame import Frame, frame_of
from cqrs.top.render import render
from cqrs.top.scrape import Scrape, scrape
from infra.settings import StackSettings, stack_settings
from streams.settings import StreamsSettings
from streams.status import all_statuses


def metrics_urls(settings: StackSettings) -> dict[str, list[str]]:
    """Every app's /metrics on the stack (the ports `cqrs stack status` lists)."""
    ports = settings.ports
    return {
        "writer": [f"http://127.0.0.1:{ports.writer}/metrics"],
        "readapi": [f"http://127.0.0.1:{ports.readapi}/metrics"],
        "streams": [f"http://127.0.0.1:{port}/metrics" for port in StreamsWorker(settings).metrics_ports],
        "webhooks": [f"http://127.0.0.1:{ports.webhooks}/metrics"],
    }


def next_frame(before: Scrape, interval_s: float, settings: StackSettings) -> tuple[Frame, Scrape]:
    """The frame of the next `interval_s` (the projections' status is read meanwhile), and its closing scrape."""
    started = time.monotonic()
    statuses = asyncio.run(all_statuses(StreamsSettings()))  # what `cqrs projections status` shows
    time.sleep(max(interval_s - (time.monotonic() - started), 0.0))
    after = scrape(metrics_urls(settings))
    return frame_of(before, after, statuses), after


IntervalOption = Annotated[float, typer.Option(min=0.5, help="Seconds between refreshes (rates cover this interval).")]
OnceOption = Annotated[bool, typer.Option("--once", help="Print one frame and exit (for scripts and the README).")]


def top(interval: IntervalOption = 2.0, once: OnceOption = False) -> None:
    """Live view of the pipeline: commands/s, relay, per-projection rate, lag and freshness, DLQ sizes, API p99."""
    settings = stack_settings()
    console = Console()
    before = scrape(metrics_urls(settings))
    if once:
        frame, _ = next_frame(before, interval, settings)
        console.print(render(frame))
        return
    frame, before = next_frame(before, min(interval, 1.0), settings)
    with Live(render(frame), console=console, auto_refresh=False, screen=False) as live:
        try:
            while True:
                frame, before = next_frame(before, interval, settings)
                live.update(render(frame), refresh=True)
        except KeyboardInterrupt:
            pass
