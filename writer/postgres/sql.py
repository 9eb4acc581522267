"""The SQL of one command transaction, in the order the store sends it.

Every statement costs the client a send, a wait on the event loop and a result to parse, so all writes of a
command go in one statement of data-modifying CTEs.
"""

from writer.postgres.rows import ORDER_COLUMNS

# Serialises requests with the same key (a concurrent duplicate waits here until the first one commits).
# A separate statement from the lookup: in READ COMMITTED each statement takes a fresh snapshot, so the
# lookup after the lock sees what the previous holder committed.
LOCK_IDEMPOTENCY_KEY = "SELECT pg_advisory_xact_lock(hashtextextended(%s || chr(10) || %s, 0))"

FIND_LIVE_RESPONSE = """
SELECT fingerprint, response_status, response_headers, response_body
FROM idempotency_keys
WHERE scope = %s AND key = %s AND expires_at > now()
"""

LOCK_ORDER = f"SELECT {ORDER_COLUMNS} FROM orders WHERE id = %s FOR UPDATE"

_INSERT_ORDER = """
    INSERT INTO orders (id, customer_id, status, currency, items, total, version, created_at, updated_at,
                        shipping_address)
    VALUES (%(id)s, %(customer_id)s, %(status)s, %(currency)s, %(items)s, %(total)s, %(version)s, %(created_at)s,
            %(updated_at)s, %(shipping_address)s)"""

# The row is locked since LOCK_ORDER, so its version is the one the decision was made on; the trigger
# orders_version_advances_by_one turns any other case into an error that aborts the transaction.
_UPDATE_ORDER = """
    UPDATE orders
    SET status = %(status)s, items = %(items)s, total = %(total)s, version = %(version)s,
        updated_at = %(updated_at)s
    WHERE id = %(id)s"""

# One statement for every write of an accepted command. The CTEs all run (whether the final SELECT reads
# them or not) in the statement's transaction; the summary is derived from the saved row itself. The outbox
# rows are deleted again by the trigger outbox_rows_live_in_the_wal_only (migration 0006), in the same
# transaction: the WAL carries them, the table stays empty.
_SAVE = """
WITH saved AS ({order_write}
    RETURNING id, customer_id, status, currency, total, items, version, updated_at
), summary AS (
    INSERT INTO order_summary (id, customer_id, status, currency, total, item_count, version, updated_at)
    SELECT id, customer_id, status, currency, total, jsonb_array_length(items), version, updated_at FROM saved
    ON CONFLICT (id) DO UPDATE
    SET status = EXCLUDED.status, total = EXCLUDED.total, item_count = EXCLUDED.item_count,
        version = EXCLUDED.version, updated_at = EXCLUDED.updated_at
), events AS (
    INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, version, sequence, correlationid,
                        causationid, occurredat)
    SELECT event.id, %(aggregate_type)s, %(aggregate_id)s, event.type, event.payload, %(version)s,
           event.sequence, %(correlation_id)s, %(causation_id)s, %(updated_at)s
    FROM unnest(%(event_ids)s::uuid[], %(event_types)s::text[], %(payloads)s::bytea[], %(sequences)s::int[])
        AS event (id, type, payload, sequence)
), command AS (
    INSERT INTO commands (command_id, name, aggregate_id, issued_by, correlation_id, outcome)
    VALUES (%(command_id)s, %(command_name)s, %(aggregate_id)s, %(issued_by)s, %(correlation_id)s, %(outcome)s)
), response AS (
    -- Only with an Idempotency-Key. A conflicting row can only be an expired one (a live one was replayed).
    INSERT INTO idempotency_keys (scope, key, fingerprint, command_id, response_status, response_headers,
                                  response_body, expires_at)
    SELECT %(scope)s::text, %(key)s::text, %(fingerprint)s::bytea, %(command_id)s, %(response_status)s::smallint,
           %(response_headers)s::jsonb, %(response_body)s::bytea, now() + make_interval(secs => %(ttl_s)s::int)
    WHERE %(key)s::text IS NOT NULL
    ON CONFLICT (scope, key) DO UPDATE
    SET fingerprint = EXCLUDED.fingerprint, command_id = EXCLUDED.command_id,
        response_status = EXCLUDED.response_status, response_headers = EXCLUDED.response_headers,
        response_body = EXCLUDED.response_body, created_at = now(), expires_at = EXCLUDED.expires_at
)
SELECT count(*) FROM saved
"""

SAVE_CREATED = _SAVE.format(order_write=_INSERT_ORDER)
SAVE_CHANGED = _SAVE.format(order_write=_UPDATE_ORDER)

FIND_COMMAND = "SELECT issued_by, outcome FROM commands WHERE command_id = %s"

PURGE_EXPIRED_RESPONSES = "DELETE FROM idempotency_keys WHERE expires_at <= now()"
