"""The real stack, started once per test run.

Tests that need a service take the `stack` fixture: it brings every service up (reusing any already running) and, at
the end of the run, stops the ones it started itself, so a stack started by hand with `cqrs stack up` stays warm.
Set CQRS_KEEP_STACK=1 to keep everything running after the tests, and CQRS_TEST_SERVICES=postgres,kafka to bring up
only some services while working on one part (tests needing the others then fail loudly).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from infra.settings import stack_settings
from infra.stack import Stack


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    only = [name for name in os.environ.get("CQRS_TEST_SERVICES", "").split(",") if name]
    stack = Stack(stack_settings(), only)
    already_running = {row.name for row in stack.status() if row.pid is not None}

    def stop_what_we_started() -> None:
        started_here = [s.name for s in stack.services if s.name not in already_running]
        if started_here:
            Stack(stack_settings(), started_here).down()

    try:
        stack.up()
    except Exception:
        stop_what_we_started()  # a half-started stack must not hold ports after the run
        raise
    yield stack
    if os.environ.get("CQRS_KEEP_STACK") != "1":
        stop_what_we_started()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that restart services (marked `disruptive`) run last, so they cannot pull the rug from the others."""
    items.sort(key=lambda item: item.get_closest_marker("disruptive") is not None)
