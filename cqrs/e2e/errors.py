"""Why `cqrs bench e2e` could not measure: one message and exit code 8 (`cqrs.cli.main`), never a bare trace."""

from __future__ import annotations

from infra.errors import CommandFailure


class BenchFailure(CommandFailure, exit_code=8):
    """Base of the end-to-end bench's failures."""


class LagUnknown(BenchFailure):
    """A projection has no consumer group to measure yet (its store has no generation)."""


class BacklogRemains(BenchFailure):
    """The projections did not catch up before a step: no step could be measured on its own."""


class SeedingFailed(BenchFailure):
    """The writer refused orders a step needs for its add-item and confirm commands."""


class GeneratorFailed(BenchFailure):
    """Vegeta ended with an error (its message is above the table)."""
