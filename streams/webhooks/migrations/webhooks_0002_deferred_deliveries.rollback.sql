DELETE FROM webhook_deliveries WHERE outcome = 'deferred';
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_outcome_check;
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_outcome_check
    CHECK (outcome IN ('delivered', 'failed', 'parked', 'held'));
DROP TABLE webhook_deferred;
