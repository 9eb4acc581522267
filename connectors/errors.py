"""Named failures of connector operations, each with its own CLI exit code."""

from __future__ import annotations


class ConnectorError(Exception):
    exit_code = 1


class ConnectUnreachable(ConnectorError):
    exit_code = 3

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"Kafka Connect at {url} is unreachable ({reason}); is it up? `cqrs stack up connect`")


class InvalidConnectorConfig(ConnectorError):
    """Connect's validate endpoint rejected the config; `errors` maps each setting to its messages."""

    exit_code = 2

    def __init__(self, name: str, errors: dict[str, list[str]]) -> None:
        lines = "\n".join(f"  {field}: {'; '.join(messages)}" for field, messages in sorted(errors.items()))
        super().__init__(f"connector {name!r} config is invalid:\n{lines}")
        self.errors = errors


class ConnectorNotFound(ConnectorError):
    exit_code = 4

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"no connector {name!r}; known: {', '.join(known) or 'none'}")


class ConnectRequestFailed(ConnectorError):
    exit_code = 5

    def __init__(self, method: str, path: str, status: int, message: str) -> None:
        super().__init__(f"{method} {path} -> {status}: {message}")
        self.status = status


class TopicMismatch(ConnectorError):
    exit_code = 6
