"""Shared pieces of the JVM services (Kafka broker, Connect worker): classpath from the Maven cache, heap, logging."""

from __future__ import annotations

from pathlib import Path

from infra.install import java_home
from infra.settings import REPO_ROOT, StackSettings

LOG4J2_CONFIG = REPO_ROOT / "infra" / "config" / "log4j2.properties"


def java_command(settings: StackSettings, libs: Path, main_class: str, heap_mb: int, *args: str) -> list[str]:
    # Small fixed heaps: the whole idle stack has to fit in 3 GiB on a 2-core machine shared with the tests.
    return [
        str(java_home(settings) / "bin" / "java"),
        f"-Xms{heap_mb // 2}m", f"-Xmx{heap_mb}m",
        "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:+ExitOnOutOfMemoryError",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={LOG4J2_CONFIG}",
        "-cp", f"{libs}/*",
        main_class, *args,
    ]  # fmt: skip
