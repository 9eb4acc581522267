-- depends: 0005_heartbeat_in_publication
-- Each outbox row is deleted right after its insert, in the same transaction, by the database itself: the WAL
-- carries the insert (that is what Debezium reads), the table stays empty, and the writer saves a statement
-- (and a round trip) per command. An AFTER ROW trigger runs at the end of the inserting statement, so it sees
-- the new row even when the insert is one CTE of a larger statement.

CREATE FUNCTION outbox_forget_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM outbox WHERE id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_rows_live_in_the_wal_only
    AFTER INSERT ON outbox
    FOR EACH ROW
    EXECUTE FUNCTION outbox_forget_row();
