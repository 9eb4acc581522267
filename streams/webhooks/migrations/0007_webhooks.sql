-- Outbound webhooks: the endpoints operators register (the /webhooks routes the writer's API serves), the delivery
-- log the agent writes, and its dead-letter queue of parked deliveries (`cqrs webhooks dlq list|replay`).
-- The tables live in the write model's database, next to the writer's own, and refer to none of them: so this
-- migration depends on none of the writer's. Its id (the file name) is the one it had as the writer's migration
-- 0007: yoyo knows applied migrations by id, so a database that applied it then does not apply it again.
-- The DLQ is a table, not a topic: a parked delivery is per endpoint (one event may be parked for one endpoint and
-- delivered to another), replay needs no Kafka, and the API serves the log from the same database.

CREATE TABLE webhook_endpoints (
    id uuid PRIMARY KEY,
    url text NOT NULL,
    event_types text[] NOT NULL,         -- empty: every event type
    secret text NOT NULL,                -- whsec_<base64>: the HMAC key, shown once at registration
    description text,
    created_by text NOT NULL,            -- the operator's JWT subject
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz               -- soft delete: the delivery log keeps naming its endpoint
);

CREATE INDEX webhook_endpoints_live ON webhook_endpoints (created_at) WHERE deleted_at IS NULL;

-- One row per attempt (and per parking): what the endpoint was sent and how it answered.
CREATE TABLE webhook_deliveries (
    id bigserial PRIMARY KEY,
    endpoint_id uuid NOT NULL REFERENCES webhook_endpoints (id),
    event_id uuid NOT NULL,
    event_type text NOT NULL,
    order_id text NOT NULL,
    version bigint NOT NULL,
    attempt int NOT NULL,
    outcome text NOT NULL CHECK (outcome IN ('delivered', 'failed', 'parked', 'held')),
    http_status smallint,
    error text,
    duration_ms double precision,
    at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, id DESC);

-- Deliveries given up on (after the retries) and the later events of the same order held behind them: an
-- endpoint receives an order's events in order, so nothing of that order passes a parked event.
CREATE TABLE webhook_parked (
    endpoint_id uuid NOT NULL REFERENCES webhook_endpoints (id),
    event_id uuid NOT NULL,
    event_type text NOT NULL,
    order_id text NOT NULL,
    version bigint NOT NULL,
    sequence int NOT NULL,
    source text NOT NULL,                -- topic:partition:offset of the event
    body bytea NOT NULL,                 -- the JSON the endpoint gets: replay needs neither Kafka nor the codec
    reason text NOT NULL,
    attempts int NOT NULL,
    parked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (endpoint_id, event_id)
);

CREATE INDEX webhook_parked_sequence ON webhook_parked (endpoint_id, order_id, version, sequence);
