"""Signed outbound webhooks: an agent (its own consumer group on `events.Order`) POSTs each event to the endpoints
registered for its type, signed per Standard Webhooks, in order per endpoint and order, with retries; deliveries it
gives up on are parked in a Postgres DLQ (`cqrs webhooks dlq list|replay`). `verify` is the receivers' helper.

Layout: `signature` (sign, stdlib only) and `verify` (check, for receivers), `payload` (the JSON body),
`endpoints` (the registry as the agent reads it), `ledger` (delivery log and DLQ tables), `delivery` (one event to one
endpoint, with retries), `agent` (the batch handler the Kafka runner drives), `replay`, `metrics`, `settings`, `cli`.
"""
