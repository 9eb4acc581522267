DROP PUBLICATION cqrs_outbox;
DROP TABLE outbox;
