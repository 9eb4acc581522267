-- The roles stay (other databases of the cluster may use them); this database's grants go.
REVOKE SELECT ON order_summary FROM cqrs_readapi;
REVOKE ALL ON outbox, debezium_heartbeat FROM cqrs_relay;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM cqrs_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM cqrs_writer;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM cqrs_writer;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM cqrs_writer;
REVOKE USAGE ON SCHEMA public FROM cqrs_writer, cqrs_relay, cqrs_readapi;
