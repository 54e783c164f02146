-- Linkage's state, in its own database (linkage.state). Every row belongs to one consumer group
-- (`consumer`, the app id): several linkage deployments (a shadow with the other notifications
-- shape, the tests' workers) can share a database without seeing each other's alarms.

-- The next offset to route of each input partition: the authority on what is done. It moves in
-- the transaction that writes the state its records led to, after their notifications were
-- acknowledged by Kafka; the group's Kafka offsets follow it (lag, autoscaling).
CREATE TABLE IF NOT EXISTS linkage_offsets (
    consumer    text   NOT NULL,
    topic       text   NOT NULL,
    partition   int    NOT NULL,
    next_offset bigint NOT NULL,
    PRIMARY KEY (consumer, topic, partition)
);

-- Alarm id → {"summary": AlarmSummary fields, "notified": {centre id: reason}} (linkage.router).
-- closed_at (epoch seconds) once closed: forgotten `closed_retention_s` later.
CREATE TABLE IF NOT EXISTS linkage_alarms (
    consumer  text             NOT NULL,
    alarm_id  text             NOT NULL,
    entry     jsonb            NOT NULL,
    closed_at double precision,
    PRIMARY KEY (consumer, alarm_id)
);
CREATE INDEX IF NOT EXISTS linkage_alarms_closed ON linkage_alarms (consumer, closed_at) WHERE closed_at IS NOT NULL;

-- The level that must acknowledge an open alarm, by when (epoch seconds), and when its escalation
-- was last asked for (the timer asks again `escalation_retry_s` later until it takes effect).
CREATE TABLE IF NOT EXISTS linkage_deadlines (
    consumer  text             NOT NULL,
    alarm_id  text             NOT NULL,
    level     text             NOT NULL,
    due_at    double precision NOT NULL,
    asked_at  double precision,
    PRIMARY KEY (consumer, alarm_id)
);
CREATE INDEX IF NOT EXISTS linkage_deadlines_due ON linkage_deadlines (consumer, due_at);

-- units.events records that overtook their alarm's AlarmReported: {"partition", "records"}
-- (linkage.unit_records), routed right after it; parked_at is the oldest record's.
CREATE TABLE IF NOT EXISTS linkage_parked (
    consumer  text             NOT NULL,
    alarm_id  text             NOT NULL,
    waiting   jsonb            NOT NULL,
    parked_at double precision NOT NULL,
    PRIMARY KEY (consumer, alarm_id)
);
CREATE INDEX IF NOT EXISTS linkage_parked_age ON linkage_parked (consumer, parked_at);

-- An alarm's pre-incident picture (hazards.events AlarmContextAttached) as routed
-- (linkage.unit_records.envelope_json): sent again to each centre that joins the alarm's audience
-- later (an escalation), read only then; forgotten with the alarm.
CREATE TABLE IF NOT EXISTS linkage_alarm_contexts (
    consumer  text  NOT NULL,
    alarm_id  text  NOT NULL,
    envelope  jsonb NOT NULL,
    PRIMARY KEY (consumer, alarm_id)
);

-- Hazard id → {"summary": HazardSummary fields, "notified": {centre id: reason}} (linkage.router),
-- read only by polls that hold hazards.events records. closed_at (epoch seconds) once the hazard
-- is finished (rejected, merged, confirmed): forgotten `closed_retention_s` later.
CREATE TABLE IF NOT EXISTS linkage_hazards (
    consumer  text             NOT NULL,
    hazard_id text             NOT NULL,
    entry     jsonb            NOT NULL,
    closed_at double precision,
    PRIMARY KEY (consumer, hazard_id)
);
CREATE INDEX IF NOT EXISTS linkage_hazards_closed ON linkage_hazards (consumer, closed_at) WHERE closed_at IS NOT NULL;
