DROP TABLE debezium_heartbeat;
