-- Projection bookkeeping, written in the same transaction as a projection's rows.
-- processed_events: idempotency by event id for projections fed from Kafka (at-least-once).
-- projection_checkpoints: how far a projection has read (a store Position or Kafka offsets).
CREATE TABLE IF NOT EXISTS processed_events (
    consumer     text NOT NULL,
    event_id     uuid NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
-- Dedup rows older than Kafka can redeliver go (projections/runners.py, purge_processed_events).
CREATE INDEX IF NOT EXISTS processed_events_processed_at ON processed_events (processed_at);
CREATE TABLE IF NOT EXISTS projection_checkpoints (
    projection text PRIMARY KEY,
    position   text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
