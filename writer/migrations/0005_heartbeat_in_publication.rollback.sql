ALTER PUBLICATION cqrs_outbox DROP TABLE debezium_heartbeat;
