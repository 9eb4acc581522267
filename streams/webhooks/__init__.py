"""Signed outbound webhooks, all in this package: the `/webhooks` routes operators register endpoints with, the
registry and its tables, and an agent (its own consumer group on `events.Order`) that POSTs each event to the
endpoints registered for its type, signed per Standard Webhooks, in order per endpoint and order, with retries;
deliveries it gives up on are parked in a Postgres DLQ (`cqrs webhooks dlq list|replay`). `verify` is the receivers'
helper.

Layout: `signature` (sign, stdlib only) and `verify` (check, for receivers); registration: `routes` (`/webhooks`,
served by the writer's API as the composition root mounts it), `registry` (the port), `postgres` (its adapter, and
`MIGRATIONS_DIR`: `migrations/`, the tables), `problems` (the routes' errors as problems), `errors`; delivery:
`payload` (the JSON body), `endpoints` (the registry as the agent reads it), `ledger` (delivery log, DLQ and deferred
queue tables), `delivery` (one event to one endpoint, with retries), `agent` (the batch handler the Kafka runner
drives, with its batch deadline), `run`; safety: `destinations` (where events may go: https, public addresses) and
`transport` (connections pinned to the checked address), `failures` (errors as users see them), `cipher` (secrets
encrypted at rest); `replay`, `receiver` (a test and demo receiver), `health`, `metrics`, `settings`, `cli`.
"""
