DROP TRIGGER outbox_rows_live_in_the_wal_only ON outbox;
DROP FUNCTION outbox_forget_row();
