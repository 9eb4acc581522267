"""Vegeta, the HTTP load generator of the read API and end-to-end benches, built once from the Go module proxy into
the cache.

Why not a Python client: on a 2-core machine an httpx client spends more CPU per request than the read API serving
it, so the bench measured the client. Vegeta (Go) costs a fraction of that and reports exact latency percentiles.

Two ways to drive it: `attack` (closed loop: N connections as fast as answers come, GET targets round robin) and
`open_loop_argv` (a fixed rate, each request of a JSON target file sent once, whatever the answers: commands).
"""

from __future__ import annotations

import base64
import json
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra import versions
from infra.install import go_install
from infra.settings import stack_settings

MODULE = "github.com/tsenart/vegeta/v12"


def vegeta_binary() -> Path:
    """The pinned vegeta binary, built on first use (`go install`, checksums from the module's go.sum)."""
    return go_install("vegeta", MODULE, versions.VEGETA, stack_settings().cache_dir)


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
    sent_rate: float = 0.0
    """Requests sent per second while the attack lasted (open loop: the offered rate, whatever the answers)."""
    throughput: float = 0.0
    """Successful (2xx/3xx) answers per second, until the last answer came."""

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
        return summarize(results)


@dataclass(frozen=True, slots=True)
class Request:
    """One request of an open-loop attack, sent exactly once."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


def write_json_targets(path: Path, base_url: str, requests: Iterable[Request]) -> int:
    """Vegeta's JSON target format, one request a line (read lazily by the attack); returns how many were written."""
    count = 0
    with path.open("w") as out:
        for request in requests:
            target = {
                "method": request.method,
                "url": f"{base_url}{request.path}",
                "header": {name: [value] for name, value in request.headers.items()},
                "body": base64.b64encode(request.body).decode(),
            }
            out.write(json.dumps(target, separators=(",", ":")) + "\n")
            count += 1
    return count


def open_loop_argv(targets: Path, results: Path, *, rate: int, seconds: float, token: str) -> list[str]:
    """`vegeta attack` at `rate` requests/s for `seconds`, each target once, in file order (the attack ends early
    when the file does). Workers are unbounded, so a slow server shows as latency, not as a lower offered rate."""
    return [
        str(vegeta_binary()), "attack", "-format=json", "-lazy", f"-targets={targets}", f"-output={results}",
        f"-rate={rate}/1s", f"-duration={seconds}s", "-timeout=30s", "-keepalive=true",
        f"-header=Authorization: Bearer {token}",
    ]  # fmt: skip


END_OF_TARGETS = b'"error":"no targets to attack"'
"""The pseudo-results (status 0, one per worker that found the file at its end) that close an open-loop attack."""


def summarize_open_loop(results: Path) -> AttackResult:
    """`summarize` without the pseudo-results that mark the end of the target file: they are no requests."""
    encoded = subprocess.run(
        [str(vegeta_binary()), "encode", "-to=json", str(results)],
        capture_output=True, check=True, stdin=subprocess.DEVNULL,
    ).stdout  # fmt: skip
    requests = results.with_name(f"{results.stem}-requests.json")
    requests.write_bytes(b"".join(line for line in encoded.splitlines(keepends=True) if END_OF_TARGETS not in line))
    return summarize(requests)


def summarize(results: Path) -> AttackResult:
    """Counts, status codes and latency percentiles of a results file (`vegeta report`)."""
    summary = subprocess.run(
        [str(vegeta_binary()), "report", "-type=json", str(results)],
        capture_output=True, check=True, stdin=subprocess.DEVNULL,
    ).stdout  # fmt: skip
    return _result(json.loads(summary))


def _target_text(base_url: str, target: Target) -> str:
    headers = "".join(f"{name}: {value}\n" for name, value in target.headers.items())
    return f"GET {base_url}{target.path}\n{headers}\n"


def _result(report: dict[str, Any]) -> AttackResult:
    latencies = report["latencies"]
    codes = {str(code): int(count) for code, count in (report.get("status_codes") or {}).items()}
    requests = int(report["requests"])
    return AttackResult(
        requests=requests,
        rate=round(requests / ((report["duration"] + report["wait"]) / 1e9), 1),
        p50_ms=round(latencies["50th"] / 1e6, 2),
        p99_ms=round(latencies["99th"] / 1e6, 2),
        max_ms=round(latencies["max"] / 1e6, 2),
        status_codes=codes,
        sent_rate=round(float(report.get("rate", 0.0)), 1),
        throughput=round(float(report.get("throughput", 0.0)), 1),
    )
