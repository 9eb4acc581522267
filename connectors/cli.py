"""`cqrs connectors register | status | restart | pause | resume | delete | validate`."""

from __future__ import annotations

import asyncio
from typing import Annotated

import psycopg
import typer
from rich.console import Console
from rich.table import Table

from connectors import config as configs
from connectors.client import ConnectClient
from connectors.settings import ConnectorSettings
from connectors.slots import SlotState, slot_state
from connectors.topics import ensure_topics, load_specs

app = typer.Typer(help="Debezium / Kafka Connect connectors, configured as data under connectors/configs/.")
console = Console()
NameArg = Annotated[str, typer.Argument(help="Connector name (a file under connectors/configs/).")]


def _run(action: str, name: str) -> None:
    settings = ConnectorSettings()
    with ConnectClient(settings.connect_url, settings.request_timeout_s) as client:
        getattr(client, action)(configs.load(name, settings, settings.config_dir).name)
    console.print(f"{action} {name}: ok")


@app.command()
def validate(name: NameArg) -> None:
    """Check the config with Connect's own validate endpoint; print every invalid setting."""
    settings = ConnectorSettings()
    connector = configs.load(name, settings, settings.config_dir)
    with ConnectClient(settings.connect_url, settings.request_timeout_s) as client:
        client.validate(connector)
    console.print(f"{name}: valid ({len(connector.config)} settings)")


@app.command()
def register(
    name: NameArg,
    wait: Annotated[
        float, typer.Option(help="Seconds to wait for the connector and its tasks to run (0: don't).")
    ] = 60,
) -> None:
    """Create the topics, validate, then create or update the connector (idempotent)."""
    settings = ConnectorSettings()
    connector = configs.load(name, settings, settings.config_dir)
    created = asyncio.run(ensure_topics(settings.kafka_bootstrap, load_specs(settings.topics_file)))
    if created:
        console.print(f"created topics: {', '.join(created)}")
    with ConnectClient(settings.connect_url, settings.request_timeout_s) as client:
        client.validate(connector)
        client.put_config(connector)
        # An unchanged config does not restart anything: a task left FAILED (say, by a database restart) is
        # restarted here, so `register` always ends with the connector running.
        client.restart_failed(connector.name)
        if wait:
            client.wait_running(connector.name, wait)
    console.print(f"registered {connector.name}" + (" (running)" if wait else ""))


@app.command()
def status(name: NameArg) -> None:
    """Connector and task states, and the replication slot's lag in bytes."""
    settings = ConnectorSettings()
    connector = configs.load(name, settings, settings.config_dir)
    with ConnectClient(settings.connect_url, settings.request_timeout_s) as client:
        state = client.status(connector.name)
    table = Table(title=f"connector {connector.name}")
    for column in ("part", "state", "worker", "detail"):
        table.add_column(column)
    table.add_row("connector", state["connector"]["state"], state["connector"].get("worker_id", ""), "")
    for task in state["tasks"]:
        trace = (task.get("trace") or "").splitlines()[:1]
        table.add_row(f"task {task['id']}", task["state"], task.get("worker_id", ""), "".join(trace))
    slot_name = connector.config.get("slot.name")
    warning = None
    if slot_name:
        try:
            slot = slot_state(settings.postgres_dsn, slot_name)
        except psycopg.Error as error:
            table.add_row(f"slot {slot_name}", "unknown", "", f"postgres unreachable: {error}")
        else:
            if slot is None:
                table.add_row(f"slot {slot_name}", "missing", "", "")
            else:
                table.add_row(f"slot {slot_name}", "active" if slot.active else "inactive", "", _slot_detail(slot))
                warning = slot.warning()
    console.print(table)
    if warning:
        console.print(f"[bold red]warning:[/] {warning}; the writer refuses commands (503) until the relay catches up")
    tasks_running = all(task["state"] == "RUNNING" for task in state["tasks"])
    if state["connector"]["state"] != "RUNNING" or not tasks_running:
        raise typer.Exit(1)


def _slot_detail(slot: SlotState) -> str:
    safe = slot.retention.safe_bytes
    headroom = "no limit" if safe is None else f"{safe:,} B left before it is invalidated"
    return f"lag {slot.lag_bytes:,} B, retained {slot.retained_bytes:,} B ({headroom}), wal {slot.wal_status}"


@app.command()
def restart(name: NameArg) -> None:
    """Restart the connector and all its tasks."""
    _run("restart", name)


@app.command()
def pause(name: NameArg) -> None:
    _run("pause", name)


@app.command()
def resume(name: NameArg) -> None:
    _run("resume", name)


@app.command()
def delete(name: NameArg) -> None:
    """Remove the connector (its replication slot stays: Debezium resumes from it when registered again)."""
    _run("delete", name)
