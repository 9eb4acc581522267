"""`cqrs demo`: the README's first command."""

from __future__ import annotations

from rich.console import Console

from infra.settings import stack_settings
from infra.stack import Stack
from infra.stack_cli import print_status

console = Console()


def run_demo() -> None:
    stack = Stack(stack_settings())
    with console.status("starting the native stack (first run downloads and builds, later runs reuse the cache)…") as s:
        stack.up(progress=lambda message: s.update(message))
    print_status(stack.status())
