"""Run the server as a child process on a free port, for tests and the benchmark (the stack has its own)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import httpx
from pydantic import SecretStr

from infra.clickhouse.credentials import ANALYST_USER, WRITER_USER, ClickHouseCredentials, ensure


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _from_env(env: Mapping[str, str]) -> ClickHouseCredentials | None:
    """The users the server reads from `CQRS_CLICKHOUSE_*` variables, when they set both passwords."""
    writer, analyst = env.get("CQRS_CLICKHOUSE_WRITER_PASSWORD"), env.get("CQRS_CLICKHOUSE_ANALYST_PASSWORD")
    if not writer or not analyst:
        return None
    return ClickHouseCredentials(
        writer_user=env.get("CQRS_CLICKHOUSE_WRITER_USER", WRITER_USER),
        writer_password=SecretStr(writer),
        analyst_user=env.get("CQRS_CLICKHOUSE_ANALYST_USER", ANALYST_USER),
        analyst_password=SecretStr(analyst),
    )


class ServerProcess:
    """`python -m infra.clickhouse.server` in a child process; start() returns once /ping answers.

    Its users get fresh random passwords (`credentials`, in a users file beside the data dir) unless `env` sets
    them through `CQRS_CLICKHOUSE_*_PASSWORD`."""

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        env: Mapping[str, str] | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.log_path = log_path or data_dir.parent / f"{data_dir.name}.server.log"
        self.users_file = data_dir.parent / f"{data_dir.name}.users.json"
        self._env = {**os.environ, **(env or {})}
        self.credentials = _from_env(self._env) or ensure(self.users_file)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("server not running")
        return self._process.pid

    def start(self, timeout_s: float = 60.0) -> None:
        command = [sys.executable, "-m", "infra.clickhouse.server", "--data-dir", str(self.data_dir)]
        command += ["--host", "127.0.0.1", "--port", str(self.port)]
        if _from_env(self._env) is None:
            command += ["--users-file", str(self.users_file)]
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=self._env)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"server exited with {self._process.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/ping", timeout=1.0).text == "Ok.\n":
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"server did not answer /ping within {timeout_s} s:\n{self.log_tail()}")

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM lets uvicorn run the lifespan shutdown, which closes chdb and releases the data dir."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def rss_bytes(self) -> int:
        """Resident set size of the server process (Linux)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("VmRSS not found")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
