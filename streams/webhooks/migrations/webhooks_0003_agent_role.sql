-- depends: webhooks_0002_deferred_deliveries
-- The delivery agent's own login role (docs/security.md: least privilege): the webhook tables, only as far as the
-- agent and its DLQ commands use them, and nothing of the write model's (orders, outbox, commands, keys), so a bug
-- or a compromise in the agent, which talks to endpoints on the internet, cannot read or change an order.
--   webhook_endpoints   read; seal a secret stored in clear (the `secret` column only); never register or delete
--   webhook_deliveries  append the log (and read it)
--   webhook_parked, webhook_deferred  its queues: read, add, change, remove
-- The role belongs to the cluster (created once; another database may create it at the same moment, hence the
-- handler); the grants are made per database. No password: as for the writer's roles (0008_service_roles).

DO $$
BEGIN
    CREATE ROLE cqrs_webhooks LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;

GRANT USAGE ON SCHEMA public TO cqrs_webhooks;
GRANT SELECT, UPDATE (secret) ON webhook_endpoints TO cqrs_webhooks;
GRANT SELECT, INSERT ON webhook_deliveries TO cqrs_webhooks;
GRANT USAGE ON SEQUENCE webhook_deliveries_id_seq TO cqrs_webhooks;
GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_parked, webhook_deferred TO cqrs_webhooks;
