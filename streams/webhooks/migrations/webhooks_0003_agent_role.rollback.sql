-- The role stays (other databases of the cluster may use it); this database's grants go.
REVOKE ALL ON webhook_endpoints, webhook_deliveries, webhook_parked, webhook_deferred FROM cqrs_webhooks;
REVOKE ALL ON SEQUENCE webhook_deliveries_id_seq FROM cqrs_webhooks;
REVOKE USAGE ON SCHEMA public FROM cqrs_webhooks;
