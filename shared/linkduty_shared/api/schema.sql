-- Idempotency-Key: the first answer to a POST, replayed for retries of the same request.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    client_id    text        NOT NULL,
    key          text        NOT NULL,
    request_hash bytea       NOT NULL,
    status       integer,
    headers      jsonb,
    body         bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    PRIMARY KEY (client_id, key)
);
