"""Named failures of the native stack; the CLI prints them as one clear message with the fix, never a bare trace."""

from __future__ import annotations

from typing import Any, ClassVar


class CommandFailure(Exception):
    """Base of every named failure that ends a `cqrs` command: printed as one message, exit code `exit_code`.

    A subclass states its code in its header, `class PortInUse(StackError, exit_code=5)`, so the codes of a family
    read as one table; without one it inherits its parent's.
    """

    exit_code: ClassVar[int] = 1

    def __init_subclass__(cls, *, exit_code: int | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if exit_code is not None:
            cls.exit_code = exit_code


class StackError(CommandFailure):
    """Base: carries the service it concerns and what the operator can do about it."""

    def __init__(self, service: str, problem: str, fix: str) -> None:
        super().__init__(f"{service}: {problem}")
        self.service = service
        self.problem = problem
        self.fix = fix


class MissingTool(StackError, exit_code=3):
    """A program or system package the stack needs (a JDK, Go, a compiler) is not installed."""


class DownloadFailed(StackError, exit_code=4):
    """Getting or building a dependency failed: a download, its checksum, apt-get, a build step."""


class PortInUse(StackError, exit_code=5):
    """Another process holds a port a service must listen on."""


class ServiceUnhealthy(StackError, exit_code=6):
    """A service could not be set up or started, or does not answer its health check."""
