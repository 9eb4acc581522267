"""The demo's region step: a command sent to the `eu` region's endpoint, read back from the `eu` read API, and one
customer's overview composed from several read models.

The demo starts region `eu` at the log's end when it is not running (a region that catches up from the beginning is
`cqrs region up eu`; on a long log that takes minutes), and drops it again afterwards, so nothing of it stays behind.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
from rich.table import Table

from cqrs.demo.show import console
from cqrs.regions.apps import region_stack, start_at_log_end
from cqrs.regions.settings import region_settings
from infra.settings import StackSettings

REGION = "eu"
WAN_DELAY_MS = 40.0


def start(settings: StackSettings) -> bool:
    """Region `eu` up at the log's end; whether the demo started it (a running region is used as it is)."""
    import os

    stack = region_stack(settings, REGION)
    if all(stack.pid_file(service).running_pid() is not None for service in stack.named):
        return False
    # What a stopped region left (a bench's, say) would make it catch up from where it stopped, minutes behind: the
    # demo's region is its own, dropped when it ends (`stop`), so it is dropped before it starts too.
    stop(settings)
    os.environ.setdefault("CQRS_REGION_WAN_DELAY_MS", str(WAN_DELAY_MS))
    start_at_log_end(settings, REGION)
    stack.up()
    return True


def stop(settings: StackSettings) -> None:
    """Stop and drop the region the demo started (its read models, groups and DLQ topics; the primary untouched)."""
    from cqrs.regions.cli import drop

    drop(REGION, yes=True)


def command_in_region(headers: dict[str, str], customer: str) -> None:
    region = region_settings(REGION)
    body = {
        "customerId": customer,
        "currency": "EUR",
        "items": [{"sku": "EU-MUG", "name": "Region mug", "quantity": 1, "unitPrice": "12.00"}],
    }
    with httpx.Client(headers=headers, timeout=30) as http:
        sent = time.monotonic()
        accepted = http.post(
            f"{region.proxy_url}/orders",
            json=body,
            headers={"Idempotency-Key": f"demo-eu-{uuid.uuid4()}"},  # per run
        )
        accepted.raise_for_status()
        accepted_ms = (time.monotonic() - sent) * 1000
        location = accepted.headers["location"]
        read = http.get(f"{location}&timeout=10")  # appended: params= would drop minVersion
        read_ms = (time.monotonic() - sent) * 1000 - accepted_ms
        lag = http.get(f"{region.readapi_url}/orders", params={"limit": 1}).raise_for_status().json()["meta"]
    console.print(
        f"region {REGION}: POST {region.proxy_url}/orders → 202 in {accepted_ms:.0f} ms (forwarded to the primary "
        f"writer, {region.wan_delay_ms:g} ms WAN delay added); Location {location}"
    )
    path = location.removeprefix(region.readapi_url)
    if read.status_code == 404:  # the wait ran out: the region's projections are behind the log (others' load)
        console.print(
            f"region {REGION} read API GET {path} → not there yet after 10 s: the region trails the log by "
            f"{lag['lagSeconds']} s (`uv run cqrs region status {REGION}`)"
        )
        return
    answer = read.raise_for_status().json()
    meta = answer["meta"]
    console.print(
        f"region {REGION} read API GET {path} → version {answer['data']['version']}, status "
        f"{answer['data']['status']}, in {read_ms:.0f} ms (meta.region={meta['region']}, "
        f"lagSeconds={meta['lagSeconds']}, stale={meta['stale']})"
    )


def overview(readapi_url: str, headers: dict[str, str], customer: str) -> None:
    with httpx.Client(base_url=readapi_url, headers=headers, timeout=30) as http:
        answer: dict[str, Any] = http.get(f"/customers/{customer}/overview").raise_for_status().json()
    data, parts = answer["data"], answer["meta"]["parts"]
    table = Table(title=f"GET /customers/{customer}/overview (parts fetched concurrently)")
    for column in ("part", "source", "version", "figures"):
        table.add_column(column)
    totals = data["lifetimeTotals"] or []
    figures = {
        "recentOrders": ", ".join(f"{o['orderId'][:8]} {o['status']}" for o in data["recentOrders"] or []),
        "openOrders": str(data["openOrders"]),
        "lifetimeTotals": ", ".join(f"{t['currency']} {t['revenue']} ({t['orders']} orders)" for t in totals),
        "topSkus": ", ".join(f"{s['sku']} x{s['quantity']}" for s in data["topSkus"] or []),
    }
    for name, meta in parts.items():
        shown = figures[name] if "error" not in meta else f"[red]missing: {meta['error']['detail']}[/]"
        table.add_row(name, meta["source"], str(meta["version"]), shown)
    console.print(table)
