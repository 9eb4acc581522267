"""ghz, the gRPC load generator of `cqrs bench writer --grpc`, built once from the Go module proxy into the cache.

The gRPC counterpart of vegeta (`cqrs.bench.loadgen`): a Go client costs the 2-core machine far less CPU per call
than a Python one, so the figures are the server's. It reads the service from the checked-in `.proto` (Python's
reflection service answers for services but not for their methods' symbols, which ghz asks for).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra import versions
from infra.install import go_install
from infra.settings import stack_settings

MODULE = "github.com/bojand/ghz/cmd/ghz"


def ghz_binary() -> Path:
    """The pinned ghz binary, built on first use (`go install`, checksums from the module's go.sum)."""
    return go_install("ghz", MODULE, versions.GHZ, stack_settings().cache_dir)


@dataclass(frozen=True, slots=True)
class CallResult:
    calls: int
    rate: float
    """Calls completed per second over the run."""
    p50_ms: float
    p99_ms: float
    codes: dict[str, int]
    """Calls per status code name (`OK`, `UNAVAILABLE`, …)."""

    @property
    def ok(self) -> int:
        return self.codes.get("OK", 0)


def load(
    target: str,
    proto: Path,
    method: str,
    data: dict[str, Any],
    metadata: dict[str, str],
    *,
    clients: int,
    seconds: float,
    import_path: Path,
) -> CallResult:
    """`method` (`package.Service/Method`, defined in `proto` under `import_path`) in a closed loop: `clients`
    concurrent callers, each on its own connection (so the writer's worker processes share them as they share HTTP
    connections), each calling again as soon as it is answered."""
    argv = [
        str(ghz_binary()), "--insecure", f"--proto={proto}", f"--import-paths={import_path}", f"--call={method}",
        f"--data={json.dumps(data)}",
        f"--metadata={json.dumps(metadata)}", f"--concurrency={clients}", f"--connections={clients}",
        f"--duration={seconds}s", "--duration-stop=wait", "--timeout=30s", "--format=json", target,
    ]  # fmt: skip
    finished = subprocess.run(argv, capture_output=True, stdin=subprocess.DEVNULL, check=False)
    if not finished.stdout:  # ghz exits non-zero when some calls failed, but still reports
        raise RuntimeError(f"ghz failed ({finished.returncode}): {finished.stderr.decode()[-2000:]}")
    return summary(json.loads(finished.stdout))


def summary(report: dict[str, Any]) -> CallResult:
    """The figures of ghz's JSON report (latencies in nanoseconds)."""
    percentiles = {int(entry["percentage"]): entry["latency"] for entry in report.get("latencyDistribution") or ()}
    return CallResult(
        calls=int(report["count"]),
        rate=round(float(report["rps"]), 1),
        p50_ms=round(percentiles.get(50, float("nan")) / 1e6, 2),
        p99_ms=round(percentiles.get(99, float("nan")) / 1e6, 2),
        codes={str(code): int(count) for code, count in (report.get("statusCodeDistribution") or {}).items()},
    )
