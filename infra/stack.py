"""Bring the native stack up and down, idempotently, and report on it.

`up` keeps what is running, recovers from stale pid files, starts each missing service once what it depends on is
healthy, and waits for real health (a request answered, not a port open). `down` stops only our own processes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from infra.errors import PortInUse, ServiceUnhealthy
from infra.process import PidFile, cpu_seconds, rss_bytes, spawn, stop
from infra.services import Service, all_services
from infra.services.base import port_is_free
from infra.settings import StackSettings

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    version: str
    port: int
    pid: int | None
    healthy: bool
    rss_bytes: int


def _wait_port_free(port: int, seconds: float) -> bool:
    """A process that just died may hold its port for a moment; only a port that stays taken is someone else's."""
    deadline = time.monotonic() + seconds
    while not port_is_free(port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


class Stack:
    def __init__(self, settings: StackSettings, only: Sequence[str] = (), apps: Sequence[type[Service]] = ()) -> None:
        """`apps`: service types of the applications run on this ground (the composition root names them; the
        ground knows none of them)."""
        self.settings = settings
        everything = all_services(settings) + [app_type(settings) for app_type in apps]
        self.by_name = {service.name: service for service in everything}
        # Without names: the infrastructure only; our own apps start when named.
        app_names = {app_type.name for app_type in apps}
        named = set(only) if only else set(self.by_name) - app_names
        # `down` and `status` concern exactly the services named; `up` and `install` also bring their dependencies.
        self.named = [service for service in everything if service.name in named]
        wanted = set(named)
        for name in named:
            wanted |= set(self._dependencies(name))
        self.services = [service for service in everything if service.name in wanted]

    def _dependencies(self, name: str) -> list[str]:
        found: list[str] = []
        for dependency in self.by_name[name].depends_on:
            found += [dependency, *self._dependencies(dependency)]
        return found

    def pid_file(self, service: Service) -> PidFile:
        return PidFile(self.settings.run_dir / f"{service.name}.pid")

    def install(self) -> None:
        for service in self.services:
            service.install()

    def up(self, progress: Progress = _quiet) -> None:
        self.install()
        for service in self.services:
            self._wait_healthy([self.by_name[d] for d in service.depends_on], progress)
            if self.pid_file(service).running_pid() is not None:
                continue
            self._start(service)
            progress(f"started {service.name}")
        self._wait_healthy(self.services, progress)

    def _start(self, service: Service) -> None:
        self.pid_file(service).clear()  # stale: the recorded process is gone
        for port in (service.port, *service.extra_ports):
            if not _wait_port_free(port, seconds=3.0):
                raise PortInUse(
                    service.name,
                    f"port {port} on 127.0.0.1 is taken by another process",
                    f"stop it (`ss -ltnp 'sport = :{port}'` shows who), or move ours with CQRS_PORT_* variables",
                )
        service.prepare()
        pid = spawn(service.command(), service.log_path, env=service.env())
        self.pid_file(service).write(pid)

    def _wait_healthy(self, services: Iterable[Service], progress: Progress) -> None:
        deadline = time.monotonic() + self.settings.health_timeout_s
        for service in services:
            while not service.healthy():
                if self.pid_file(service).running_pid() is None:
                    raise ServiceUnhealthy(
                        service.name, f"the process exited:\n{self.log_tail(service)}", self._fix(service)
                    )
                if time.monotonic() > deadline:
                    raise ServiceUnhealthy(
                        service.name,
                        f"not healthy after {self.settings.health_timeout_s:.0f} s:\n{self.log_tail(service)}",
                        self._fix(service),
                    )
                time.sleep(0.5)
            progress(f"{service.name} healthy")

    def _fix(self, service: Service) -> str:
        return f"read {service.log_path}; `cqrs stack down` then `cqrs stack up` retries"

    def down(self, progress: Progress = _quiet) -> None:
        for service in reversed(self.named):
            pid = self.pid_file(service).running_pid()
            if pid is not None:
                stop(pid, stop_signal=service.stop_signal)
                progress(f"stopped {service.name}")
            self.pid_file(service).clear()

    def status(self) -> list[ServiceStatus]:
        rows = []
        for service in self.named:
            pid = self.pid_file(service).running_pid()
            rows.append(
                ServiceStatus(
                    name=service.name,
                    version=service.version,
                    port=service.port,
                    pid=pid,
                    healthy=pid is not None and service.healthy(),
                    rss_bytes=rss_bytes(pid) if pid else 0,
                )
            )
        return rows

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds used so far by each running named service (children included): two readings around a load
        tell what each part of the pipeline costs per command."""
        used = {}
        for service in self.named:
            pid = self.pid_file(service).running_pid()
            if pid is not None:
                used[service.name] = cpu_seconds(pid)
        return used

    def cpu_share(self, seconds: float) -> dict[str, float]:
        """Each running named service's share of the whole machine (all cores) over the next `seconds`."""
        before, started = self.cpu_seconds(), time.monotonic()
        time.sleep(seconds)
        after, elapsed = self.cpu_seconds(), time.monotonic() - started
        cores = os.cpu_count() or 1
        return {name: (after[name] - before[name]) / elapsed / cores for name in after.keys() & before.keys()}

    def log_tail(self, service: Service, lines: int = 30) -> str:
        try:
            return "\n".join(service.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log yet)"
