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
-- The rights of the token that got the answer: a retry replays it only to a token holding them all.
ALTER TABLE idempotency_keys ADD COLUMN IF NOT EXISTS rights jsonb;
-- The retention purge finds expired answers by their age (linkduty_shared.retention).
CREATE INDEX IF NOT EXISTS idempotency_keys_created ON idempotency_keys (created_at);
