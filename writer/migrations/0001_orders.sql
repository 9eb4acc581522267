-- The Order aggregate, state-stored, and its synchronous projection (updated in the same transaction).

CREATE TABLE orders (
    id uuid PRIMARY KEY,
    customer_id text NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'confirmed', 'shipped', 'cancelled')),
    currency char(3) NOT NULL,
    items jsonb NOT NULL,
    total numeric(18, 2) NOT NULL CHECK (total >= 0),
    version bigint NOT NULL CHECK (version >= 1),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    shipping_address jsonb
) WITH (fillfactor = 80);  -- room on each page so version bumps stay HOT updates (no index churn)

-- Every accepted command moves the version up by exactly one. The writer locks the row (FOR UPDATE) before
-- deciding, so this never fires in normal operation; it turns a lost update from a buggy writer into an error
-- that aborts the whole transaction (outbox rows included) instead of a silently skipped or repeated version.
CREATE FUNCTION orders_reject_version_skip() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'order % is at version %, refusing to write version %', OLD.id, OLD.version, NEW.version
        USING ERRCODE = 'serialization_failure';
END
$$;

CREATE TRIGGER orders_version_advances_by_one
    BEFORE UPDATE ON orders
    FOR EACH ROW
    WHEN (NEW.version <> OLD.version + 1)
    EXECUTE FUNCTION orders_reject_version_skip();

CREATE TABLE order_summary (
    id uuid PRIMARY KEY,
    customer_id text NOT NULL,
    status text NOT NULL,
    currency char(3) NOT NULL,
    total numeric(18, 2) NOT NULL,
    item_count int NOT NULL,  -- number of lines, not of units
    version bigint NOT NULL,
    updated_at timestamptz NOT NULL
) WITH (fillfactor = 80);

-- customer_id never changes, so this index does not stop updates from being HOT.
CREATE INDEX order_summary_customer_id ON order_summary (customer_id);
