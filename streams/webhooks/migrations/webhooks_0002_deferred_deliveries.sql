-- depends: 0007_webhooks
-- Deliveries a batch could not finish before its deadline (a slow endpoint): the agent commits the batch and sends
-- them, in order, from its next batches; later events of the same (endpoint, order) queue behind them here.
-- Not the DLQ: nothing is wrong with these deliveries, and no operator needs to replay them.
-- The id starts with `webhooks_`: the write model's migrations share yoyo's table, and their numbers go on.

CREATE TABLE webhook_deferred (
    endpoint_id uuid NOT NULL REFERENCES webhook_endpoints (id),
    event_id uuid NOT NULL,
    event_type text NOT NULL,
    order_id text NOT NULL,
    version bigint NOT NULL,
    sequence int NOT NULL,
    source text NOT NULL,
    partition int NOT NULL,              -- of the event: an agent works only the queue of the partitions it owns
    body bytea NOT NULL,
    attempts int NOT NULL,               -- attempts made so far: a deferred delivery resumes its retries, not restarts
    deferred_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (endpoint_id, event_id)
);

CREATE INDEX webhook_deferred_sequence ON webhook_deferred (partition, endpoint_id, order_id, version, sequence);

ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_outcome_check;
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_outcome_check
    CHECK (outcome IN ('delivered', 'failed', 'parked', 'held', 'deferred'));
