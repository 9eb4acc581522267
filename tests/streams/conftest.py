"""Fixtures for the streams tests: settings whose every name (topics, groups, database, index, keys) is unique to
the test, so tests never see each other's data and can run against one long-lived stack."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from infra.stack import Stack
from streams.sandbox import create_topics as sandbox_topics
from streams.sandbox import remove, sandbox
from streams.settings import StreamsSettings

# The contract suite lives outside test_*.py files; let pytest explain its failed asserts too.
pytest.register_assert_rewrite("tests.streams.sink_contract")


def unique_settings(stack: Stack, **overrides: Any) -> StreamsSettings:
    values: dict[str, Any] = {"batch_timeout_s": 0.05, "target_check_s": 0.5, "metrics_port": 0}
    return sandbox(StreamsSettings(ports=stack.settings.ports), **(values | overrides))


@pytest.fixture
async def settings(stack: Stack) -> AsyncIterator[StreamsSettings]:
    """Unique names; afterwards every topic, database, index and key they name is deleted."""
    settings = unique_settings(stack)
    yield settings
    await cleanup(settings)


async def create_topics(settings: StreamsSettings, partitions: int = 3) -> None:
    await sandbox_topics(settings, partitions)


async def cleanup(settings: StreamsSettings) -> None:
    await remove(settings)
