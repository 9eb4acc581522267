"""Named errors of the webhook agent and its CLI (`cqrs` prints them and exits with their code)."""

from __future__ import annotations

from streams.errors import StreamsError


class WebhookStoreUnavailable(StreamsError):
    """The write model's database (endpoints, delivery log, DLQ) cannot be reached."""

    exit_code = 3


class UnknownEndpoint(StreamsError):
    exit_code = 2
