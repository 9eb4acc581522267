"""The real clients of the compatibility suite, built once per version into the per-user cache (outside the clone):
the official JDBC driver (Maven, like the stack's jars) with the small Java program compiled by javac, and the
official Go driver's program built with `go build` from the Go module proxy (checksums from the committed go.sum).

Each cache folder is keyed by the driver version and a digest of the program's sources, so a changed program or
pom is rebuilt and an unchanged one costs nothing on the next run.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from infra import versions
from infra.errors import DownloadFailed
from infra.install import MAVEN_DIR, apt_install, cached, java_home, maven_copy, require_tool, run_step
from infra.settings import stack_settings

HERE = Path(__file__).parent
JAVA_SOURCE = HERE / "java" / "Compat.java"
GO_MODULE = HERE / "go"
JDBC_POM = "clickhouse-jdbc/pom.xml"
CLIENT_TIMEOUT_S = 120


def _digest(*paths: Path) -> str:
    hashed = hashlib.sha256()
    for path in paths:
        hashed.update(path.read_bytes())
    return hashed.hexdigest()[:8]


def jdbc_program() -> tuple[Path, Path]:
    """(the driver's jars folder, the folder of Compat.class): the jars are fetched once per driver version and pom,
    the program is compiled again only when its source changes."""
    cache = stack_settings().cache_dir
    lib = (
        cached(
            cache / f"clickhouse-jdbc-{versions.CLICKHOUSE_JDBC}-{_digest(MAVEN_DIR / JDBC_POM)}",
            lambda out: maven_copy(
                "clickhouse-jdbc", JDBC_POM, {"clickhouse.jdbc.version": versions.CLICKHOUSE_JDBC}, out / "lib"
            ),
        )
        / "lib"
    )

    def build(out: Path) -> None:
        argv = [_javac(), "-d", str(out), "-cp", str(lib / "*"), str(JAVA_SOURCE)]
        run_step("clickhouse-jdbc", argv, "see the javac error above")

    classes = cached(cache / f"clickhouse-jdbc-compat-{versions.CLICKHOUSE_JDBC}-{_digest(JAVA_SOURCE)}", build)
    return lib, classes


def _javac() -> str:
    """The stack needs only a JRE; the compiler comes with the JDK package of the same major (installed when root)."""
    javac = java_home(stack_settings()) / "bin" / "javac"
    if javac.exists():
        return str(javac)
    if shutil.which("javac") is None:
        apt_install("clickhouse-jdbc", [f"openjdk-{versions.JAVA_MIN_MAJOR}-jdk-headless"])
    return require_tool("javac", "clickhouse-jdbc", f"apt-get install openjdk-{versions.JAVA_MIN_MAJOR}-jdk-headless")


def go_program() -> Path:
    """The Go program's binary, built against the clickhouse-go version its go.mod pins (== versions.CLICKHOUSE_GO)."""
    sources = [*sorted(GO_MODULE.glob("*.go")), GO_MODULE / "go.mod", GO_MODULE / "go.sum"]
    home = stack_settings().cache_dir / f"clickhouse-go-compat-{versions.CLICKHOUSE_GO}-{_digest(*sources)}"

    def build(out: Path) -> None:
        pinned = re.search(r"github\.com/ClickHouse/clickhouse-go/v2 (\S+)", (GO_MODULE / "go.mod").read_text())
        if pinned is None or pinned.group(1) != versions.CLICKHOUSE_GO:
            raise DownloadFailed(
                "clickhouse-go",
                f"go.mod pins {pinned.group(1) if pinned else 'nothing'}, infra/versions.py says "
                f"{versions.CLICKHOUSE_GO}",
                f"run `go get github.com/ClickHouse/clickhouse-go/v2@{versions.CLICKHOUSE_GO}` in {GO_MODULE}",
            )
        go = require_tool("go", "clickhouse-go", "install Go (https://go.dev/doc/install) and rerun")
        argv = [go, "build", "-trimpath", "-mod=readonly", "-o", str(out / "bin" / "compat"), "."]
        run_step("clickhouse-go", argv, "see the Go error above", cwd=GO_MODULE, env={"CGO_ENABLED": "0"})

    return cached(home, build) / "bin" / "compat"


def run_json(argv: list[str], password: str) -> dict[str, Any]:
    """Runs a client program and returns the JSON object it printed; its stderr is shown when it fails."""
    result = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT_S,
        env={**os.environ, "CLICKHOUSE_PASSWORD": password},
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, f"{Path(argv[0]).name} failed:\n{result.stderr[-4000:]}"
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def java_argv(program: tuple[Path, Path], *args: str) -> list[str]:
    """`java … Compat <args>` (jdbc url, user, currency, since, write table)."""
    java = java_home(stack_settings()) / "bin" / "java"
    lib, classes = program
    classpath = os.pathsep.join([str(lib / "*"), str(classes)])
    # Tiered compilation stopped at C1: the program runs for about a second, deeper JIT work would be wasted.
    return [str(java), "-XX:TieredStopAtLevel=1", "-cp", classpath, "Compat", *args]
