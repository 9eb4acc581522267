-- depends: 0002_commands_and_idempotency
-- The transactional outbox read by Debezium's outbox event router (connectors/). Each row is inserted and
-- deleted in the command's transaction: the WAL carries the insert, the table stays empty.
-- The column names are part of the connector configuration: change both together.

CREATE TABLE outbox (
    id uuid PRIMARY KEY,            -- = eventId
    aggregatetype text NOT NULL,    -- 'Order' -> Kafka topic events.Order
    aggregateid text NOT NULL,      -- orderId -> Kafka record key
    type text NOT NULL,             -- eventType (header)
    payload bytea NOT NULL,         -- Avro single-object-encoded envelope, passed to Kafka unchanged
    version bigint NOT NULL,        -- aggregate version (header)
    sequence int NOT NULL,          -- order of events within one command
    correlationid text NOT NULL,    -- header
    causationid text NOT NULL,      -- = commandId (header)
    occurredat timestamptz NOT NULL
);

-- Debezium runs with publication.autocreate.mode=disabled and streams only this table.
CREATE PUBLICATION cqrs_outbox FOR TABLE outbox;
