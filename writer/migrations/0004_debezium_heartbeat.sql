-- depends: 0003_outbox
-- Target of the Debezium connector's heartbeat.action.query (connectors/configs/orders-outbox.yaml). Writing one row
-- every heartbeat gives the replication slot something to confirm when no order changes, so Postgres can recycle
-- WAL instead of retaining it for an idle slot. Not in the publication: nothing of it goes to Kafka.

CREATE TABLE debezium_heartbeat (
    id int PRIMARY KEY,
    beat_at timestamptz NOT NULL
);
