"""Named failures of the native stack; the CLI prints them as one clear message with the fix, never a bare trace."""

from __future__ import annotations


class StackError(Exception):
    """Base: carries the service it concerns and what the operator can do about it."""

    exit_code = 1

    def __init__(self, service: str, problem: str, fix: str) -> None:
        super().__init__(f"{service}: {problem}")
        self.service = service
        self.problem = problem
        self.fix = fix


class MissingTool(StackError):
    exit_code = 3


class DownloadFailed(StackError):
    exit_code = 4


class PortInUse(StackError):
    exit_code = 5


class ServiceUnhealthy(StackError):
    exit_code = 6
