-- The transactional outbox: one row per event still to publish. Rows are written in the same
-- statement as the events (eventstore/store.py) and deleted by the relay only after Kafka has
-- acknowledged them. Kafka key = partition_key = aggregate id, so order per aggregate holds.
CREATE TABLE IF NOT EXISTS outbox (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id      uuid NOT NULL,
    topic         text NOT NULL,
    partition_key text NOT NULL
);

-- Optional wake-up for relays in other processes (see outbox/relay.py and bench/ for its cost).
CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('linkduty_outbox', '');
    RETURN NULL;
END $$;
