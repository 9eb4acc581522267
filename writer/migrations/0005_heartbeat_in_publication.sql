-- depends: 0004_debezium_heartbeat
-- The heartbeat only moves the slot if Debezium actually receives the heartbeat row: a change outside the
-- publication never reaches the connector, so its acknowledged position would stay put while unrelated tables
-- fill the WAL. The connector drops these rows before Kafka (a Filter transform); only their position counts.

ALTER PUBLICATION cqrs_outbox ADD TABLE debezium_heartbeat;
