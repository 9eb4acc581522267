"""Vegeta, the HTTP load generator the read API bench drives, built once from the Go module proxy into the cache.

Why not a Python client: on a 2-core machine an httpx client spends more CPU per request than the read API serving
it, so the bench measured the client. Vegeta (Go) costs a fraction of that and reports exact latency percentiles.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra import versions
from infra.install import cached, require_tool, run_step
from infra.settings import stack_settings

MODULE = "github.com/tsenart/vegeta/v12"


def vegeta_binary() -> Path:
    """The pinned vegeta binary, built on first use (`go install`, checksums from the module's go.sum)."""
    home = stack_settings().cache_dir / f"vegeta-{versions.VEGETA}"

    def build(out: Path) -> None:
        go = require_tool("go", "vegeta", "install Go 1.22+ (https://go.dev/doc/install) and rerun")
        run_step("vegeta", [go, "install", f"{MODULE}@{versions.VEGETA}"], "see the Go error above",
             env={"GOBIN": str(out / "bin"), "CGO_ENABLED": "0"})  # fmt: skip

    return cached(home, build) / "bin" / "vegeta"


@dataclass(frozen=True, slots=True)
class Target:
    path: str
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class AttackResult:
    requests: int
    rate: float
    """Requests completed per second over the attack."""
    p50_ms: float
    p99_ms: float
    max_ms: float
    status_codes: dict[str, int]

    @property
    def errors(self) -> int:
        return sum(count for code, count in self.status_codes.items() if code != "200")


def attack(base_url: str, targets: list[Target], *, clients: int, seconds: float, token: str) -> AttackResult:
    """As many requests as `clients` concurrent connections complete in `seconds`, the targets taken round robin."""
    binary = str(vegeta_binary())
    with tempfile.TemporaryDirectory() as work:
        listing = Path(work) / "targets.txt"
        listing.write_text("".join(_target_text(base_url, target) for target in targets))
        attack_argv = [
            binary, "attack", f"-targets={listing}", "-rate=0", f"-workers={clients}", f"-max-workers={clients}",
            f"-duration={seconds}s", "-timeout=30s", "-keepalive=true", f"-header=Authorization: Bearer {token}",
        ]  # fmt: skip
        results = Path(work) / "results.bin"
        with results.open("wb") as out:
            subprocess.run(attack_argv, stdout=out, stdin=subprocess.DEVNULL, check=True)
        summary = subprocess.run(
            [binary, "report", "-type=json", str(results)], capture_output=True, check=True, stdin=subprocess.DEVNULL
        ).stdout
    return _result(json.loads(summary))


def _target_text(base_url: str, target: Target) -> str:
    headers = "".join(f"{name}: {value}\n" for name, value in target.headers.items())
    return f"GET {base_url}{target.path}\n{headers}\n"


def _result(report: dict[str, Any]) -> AttackResult:
    latencies = report["latencies"]
    return AttackResult(
        requests=int(report["requests"]),
        rate=round(int(report["requests"]) / ((report["duration"] + report["wait"]) / 1e9), 1),
        p50_ms=round(latencies["50th"] / 1e6, 2),
        p99_ms=round(latencies["99th"] / 1e6, 2),
        max_ms=round(latencies["max"] / 1e6, 2),
        status_codes={str(code): int(count) for code, count in (report.get("status_codes") or {}).items()},
    )
