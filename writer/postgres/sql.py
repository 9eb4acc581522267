"""The SQL of a command transaction, in the order the store sends it: one command's (`PostgresCommandStore.execute`)
and a batch's (`execute_many`: the same writes for many commands, each column an array that `unnest` turns into
rows). Both are built from the same column lists and conflict rules below, so the two paths write the same rows.

Every statement costs the client a send, a wait on the event loop and a result to parse, so all writes of a
command (or of a batch) go in one statement of data-modifying CTEs.
"""

from functools import cache

from writer.postgres.rows import ORDER_COLUMNS

# An order's columns with their types, in the order `rows.order_params` names them.
_ORDER_WRITE = {
    "id": "uuid", "customer_id": "text", "status": "text", "currency": "text", "items": "jsonb", "total": "numeric",
    "version": "bigint", "created_at": "timestamptz", "updated_at": "timestamptz", "shipping_address": "jsonb",
}  # fmt: skip
_ORDER_CHANGES = ("status", "items", "total", "version", "updated_at")
"""What a command on an existing order may change."""
_SAVED = "id, customer_id, status, currency, total, items, version, updated_at"
_OUTBOX = "id, aggregatetype, aggregateid, type, payload, version, sequence, correlationid, causationid, occurredat"
_COMMAND = ("command_id", "name", "aggregate_id", "issued_by", "correlation_id", "outcome")
_RESPONSE = "scope, key, fingerprint, command_id, response_status, response_headers, response_body, expires_at"

# Serialises requests with the same key (a concurrent duplicate waits here until the first one commits).
# A separate statement from the lookup: in READ COMMITTED each statement takes a fresh snapshot, so the
# lookup after the lock sees what the previous holder committed.
_KEY_LOCK = "pg_advisory_xact_lock(hashtextextended({scope} || chr(10) || {key}, 0))"
LOCK_IDEMPOTENCY_KEY = "SELECT " + _KEY_LOCK.format(scope="%s", key="%s")

_LIVE_RESPONSE = "fingerprint, response_status, response_headers, response_body"
FIND_LIVE_RESPONSE = f"""
SELECT {_LIVE_RESPONSE}
FROM idempotency_keys
WHERE scope = %s AND key = %s AND expires_at > now()
"""

LOCK_ORDER = f"SELECT {ORDER_COLUMNS} FROM orders WHERE id = %s FOR UPDATE"

_INSERT_ORDER = f"""
    INSERT INTO orders ({", ".join(_ORDER_WRITE)})
    VALUES ({", ".join(f"%({column})s" for column in _ORDER_WRITE)})"""

# The row is locked since LOCK_ORDER, so its version is the one the decision was made on; the trigger
# orders_version_advances_by_one turns any other case into an error that aborts the transaction.
_UPDATE_ORDER = f"""
    UPDATE orders
    SET {", ".join(f"{column} = %({column})s" for column in _ORDER_CHANGES)}
    WHERE id = %(id)s"""

_SUMMARY_OF_SAVED = """
    INSERT INTO order_summary (id, customer_id, status, currency, total, item_count, version, updated_at)
    SELECT id, customer_id, status, currency, total, jsonb_array_length(items), version, updated_at FROM saved
    ON CONFLICT (id) DO UPDATE
    SET status = EXCLUDED.status, total = EXCLUDED.total, item_count = EXCLUDED.item_count,
        version = EXCLUDED.version, updated_at = EXCLUDED.updated_at"""

# A conflicting row can only be an expired one (a live one was replayed).
_RESPONSE_REPLACES_EXPIRED = """
    ON CONFLICT (scope, key) DO UPDATE
    SET fingerprint = EXCLUDED.fingerprint, command_id = EXCLUDED.command_id,
        response_status = EXCLUDED.response_status, response_headers = EXCLUDED.response_headers,
        response_body = EXCLUDED.response_body, created_at = now(), expires_at = EXCLUDED.expires_at"""

# One statement for every write of an accepted command. The CTEs all run (whether the final SELECT reads
# them or not) in the statement's transaction; the summary is derived from the saved row itself. The outbox
# rows are deleted again by the trigger outbox_rows_live_in_the_wal_only (migration 0006), in the same
# transaction: the WAL carries them, the table stays empty.
_SAVE = f"""
WITH saved AS ({{order_write}}
    RETURNING {_SAVED}
), summary AS ({_SUMMARY_OF_SAVED}
), events AS (
    INSERT INTO outbox ({_OUTBOX})
    SELECT event.id, %(aggregate_type)s, %(aggregate_id)s, event.type, event.payload, %(version)s,
           event.sequence, %(correlation_id)s, %(causation_id)s, %(updated_at)s
    FROM unnest(%(event_ids)b::uuid[], %(event_types)b::text[], %(payloads)b::bytea[], %(sequences)b::int[])
        AS event (id, type, payload, sequence)
), command AS (
    INSERT INTO commands ({", ".join(_COMMAND)})
    VALUES (%(command_id)s, %(command_name)s, %(aggregate_id)s, %(issued_by)s, %(correlation_id)s, %(outcome)s)
), response AS (
    -- Only with an Idempotency-Key.
    INSERT INTO idempotency_keys ({_RESPONSE})
    SELECT %(scope)s::text, %(key)s::text, %(fingerprint)s::bytea, %(command_id)s, %(response_status)s::smallint,
           %(response_headers)s::jsonb, %(response_body)s::bytea, now() + make_interval(secs => %(ttl_s)s::int)
    WHERE %(key)s::text IS NOT NULL{_RESPONSE_REPLACES_EXPIRED}
)
SELECT count(*) FROM saved
"""

SAVE_CREATED = _SAVE.format(order_write=_INSERT_ORDER)
SAVE_CHANGED = _SAVE.format(order_write=_UPDATE_ORDER)

FIND_COMMAND = "SELECT issued_by, outcome FROM commands WHERE command_id = %s"

PURGE_EXPIRED_RESPONSES = "DELETE FROM idempotency_keys WHERE expires_at <= now()"


# --- A batch: the same locks, reads and writes for many commands, every parameter an array. ---

# Keys in one order in every batch, so two batches never wait for each other's keys crosswise.
LOCK_IDEMPOTENCY_KEYS = f"""
SELECT count({_KEY_LOCK.format(scope="claim.scope", key="claim.key")})
FROM (SELECT DISTINCT scope, key FROM unnest(%s::text[], %s::text[]) AS c (scope, key) ORDER BY 1, 2) AS claim
"""

FIND_LIVE_RESPONSES = f"""
SELECT scope, key, {_LIVE_RESPONSE}
FROM idempotency_keys
WHERE (scope, key) IN (SELECT * FROM unnest(%s::text[], %s::text[])) AND expires_at > now()
"""

# Rows locked in id order, for the same reason as the keys.
LOCK_ORDERS = f"SELECT id, {ORDER_COLUMNS} FROM orders WHERE id = ANY(%s::uuid[]) ORDER BY id FOR UPDATE"


def _unnest(columns: dict[str, str], prefix: str = "") -> str:
    """`unnest(%(c1)b::t1[], …)`: one row per array index. Binary parameters: the text form of an array escapes
    every element with a regular expression, which costs the client more than the rest of a batch's statement."""
    return f"unnest({', '.join(f'%({prefix}{name})b::{kind}[]' for name, kind in columns.items())})"


_INSERT_ORDERS = f"""
    INSERT INTO orders ({", ".join(_ORDER_WRITE)})
    SELECT * FROM {_unnest(_ORDER_WRITE, "created_")}
    RETURNING {_SAVED}"""

_CHANGES_WITH_ID = {"id": "uuid", **{column: _ORDER_WRITE[column] for column in _ORDER_CHANGES}}
# Each order at most once per statement (the store writes an order's successive versions in successive
# statements), so the version trigger sees every step.
_UPDATE_ORDERS = f"""
    UPDATE orders
    SET {", ".join(f"{column} = changed.{column}" for column in _ORDER_CHANGES)}
    FROM {_unnest(_CHANGES_WITH_ID, "changed_")} AS changed ({", ".join(_CHANGES_WITH_ID)})
    WHERE orders.id = changed.id
    RETURNING {", ".join(f"orders.{column}" for column in _SAVED.split(", "))}"""

_OUTBOX_ROWS = {
    "event_id": "uuid", "aggregate_type": "text", "aggregate_id": "text", "event_type": "text",
    "payload": "bytea", "version": "bigint", "sequence": "int", "correlation_id": "text", "causation_id": "text",
    "occurred_at": "timestamptz",
}  # fmt: skip
# Keyed like `rows.command_params` and `rows.response_params` (plus the command id) name them.
_COMMAND_ROWS = {
    "command_id": "uuid", "command_name": "text", "aggregate_id": "text", "issued_by": "text", "correlation_id": "text",
    "outcome": "jsonb",
}  # fmt: skip
_RESPONSE_ROWS = {
    "scope": "text", "key": "text", "fingerprint": "bytea", "command_id": "uuid", "response_status": "smallint",
    "response_headers": "jsonb", "response_body": "bytea", "ttl_s": "int",
}  # fmt: skip

_RECORDS = f"""
events AS (
    INSERT INTO outbox ({_OUTBOX})
    SELECT * FROM {_unnest(_OUTBOX_ROWS, "event_")}
), command AS (
    INSERT INTO commands ({", ".join(_COMMAND)})
    SELECT * FROM {_unnest(_COMMAND_ROWS, "command_")}
), response AS (
    INSERT INTO idempotency_keys ({_RESPONSE})
    SELECT scope, key, fingerprint, command_id, response_status, response_headers, response_body,
           now() + make_interval(secs => ttl_s)
    FROM {_unnest(_RESPONSE_ROWS, "response_")}
        AS response ({", ".join(_RESPONSE_ROWS)}){_RESPONSE_REPLACES_EXPIRED}
)"""


ARRAYS = {
    "created_": _ORDER_WRITE, "changed_": _CHANGES_WITH_ID, "event_": _OUTBOX_ROWS, "command_": _COMMAND_ROWS,
    "response_": _RESPONSE_ROWS,
}  # fmt: skip
"""The array parameters of `save_orders` by prefix: `%(<prefix><column>)s` holds the column's values, one per row."""


@cache
def save_orders(*, created: bool, changed: bool, records: bool) -> str:
    """One statement of a batch: orders created and/or changed (each order at most once) with their summaries and,
    with `records`, every event (outbox rows, in the batch's order), accepted command and kept response of it."""
    assert created or changed, "every accepted command writes its order"
    writes = [(name, sql) for name, sql, wanted in (("created", _INSERT_ORDERS, created),
                                                    ("changed", _UPDATE_ORDERS, changed)) if wanted]  # fmt: skip
    ctes = [f"{name} AS ({sql}\n)" for name, sql in writes]
    ctes.append(f"saved AS ({' UNION ALL '.join(f'SELECT * FROM {name}' for name, _ in writes)})")
    ctes.append(f"summary AS ({_SUMMARY_OF_SAVED}\n)")
    if records:
        ctes.append(_RECORDS.strip())
    return "WITH " + ",\n".join(ctes) + "\nSELECT count(*) FROM saved\n"
