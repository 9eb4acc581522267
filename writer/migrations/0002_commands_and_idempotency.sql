-- depends: 0001_orders
-- Accepted commands (for GET /commands/{commandId}) and the responses stored under Idempotency-Key headers.

CREATE TABLE commands (
    command_id uuid PRIMARY KEY,
    name text NOT NULL,
    aggregate_id text NOT NULL,
    issued_by text NOT NULL,        -- the JWT subject: customers may only read their own commands
    correlation_id text NOT NULL,
    outcome jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE idempotency_keys (
    scope text NOT NULL,            -- the JWT subject: one client's key never replays another client's response
    key text NOT NULL,
    fingerprint bytea NOT NULL,     -- sha256 of method, path, canonical body and If-Match
    command_id uuid NOT NULL,
    response_status smallint NOT NULL,
    response_headers jsonb NOT NULL,
    response_body bytea NOT NULL,   -- bytes, not jsonb: a replay returns exactly the first response
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);

CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at);
