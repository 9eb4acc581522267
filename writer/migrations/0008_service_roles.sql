-- depends: 0006_outbox_rows_leave_at_once
-- One login role per service, each with only what it needs (docs/security.md: least privilege):
--   cqrs_writer   the command API (and the webhook routes it serves): rows of the write model's tables, no DDL,
--                 no replication;
--   cqrs_relay    Debezium: REPLICATION, reads the published tables, upserts its heartbeat row;
--   cqrs_readapi  the read API's strong reads: SELECT on order_summary, nothing else.
-- Migrations keep running as the database owner (postgres). Roles belong to the cluster, not the database: they
-- are created once (another database's migration may create them at the same moment, hence the handler), the
-- grants are made per database. No passwords here: the native stack authenticates loopback connections by role
-- name (trust); a deployment sets passwords (ALTER ROLE ... PASSWORD) and scram in pg_hba.conf.

DO $$
DECLARE
    role_name text;
BEGIN
    FOREACH role_name IN ARRAY ARRAY['cqrs_writer', 'cqrs_relay', 'cqrs_readapi'] LOOP
        BEGIN
            EXECUTE format(
                'CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE %s',
                role_name, CASE role_name WHEN 'cqrs_relay' THEN 'REPLICATION' ELSE 'NOREPLICATION' END
            );
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END LOOP;
END
$$;

GRANT USAGE ON SCHEMA public TO cqrs_writer, cqrs_relay, cqrs_readapi;

GRANT SELECT, INSERT, UPDATE, DELETE ON orders, order_summary, commands, idempotency_keys, outbox TO cqrs_writer;
-- The webhook tables (streams/webhooks/migrations) may be created before or after this migration: grant on those
-- that exist, and on every table and sequence the owner creates later. yoyo's own tables are not the writer's.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO cqrs_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO cqrs_writer;
DO $$
DECLARE
    table_name text;
BEGIN
    FOR table_name IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'webhook\_%' LOOP
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO cqrs_writer', table_name);
    END LOOP;
    EXECUTE 'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO cqrs_writer';
END
$$;

GRANT SELECT ON outbox, debezium_heartbeat TO cqrs_relay;
GRANT INSERT, UPDATE ON debezium_heartbeat TO cqrs_relay;

GRANT SELECT ON order_summary TO cqrs_readapi;
