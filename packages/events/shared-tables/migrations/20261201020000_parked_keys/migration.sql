-- Parking of keys whose event was dead-lettered (@tributary/events idempotent consumer): the later
-- events of such a key wait here, in order, until the dead letter is replayed and applied or
-- discarded with a reason; other keys keep flowing.

-- One row per (consumer group, topic, key) that is parked (released_at IS NULL: its dead letter
-- is unresolved) or draining (released_at set: its parked events are being applied in order).
-- The row is deleted when its last parked event has been applied; while it exists, every new
-- event of the key is parked behind the others. The consumer locks it FOR UPDATE, which orders
-- a live event against the drain of the same key.
CREATE TABLE "parked_key" (
  "consumer_group"        TEXT NOT NULL,
  "topic"                 TEXT NOT NULL,
  "message_key"           TEXT NOT NULL,
  -- NULL when the dead letter had no valid event-id header (only a discard by key releases it).
  "dead_letter_event_id"  UUID,
  "dead_letter_partition" INTEGER NOT NULL,
  "dead_letter_offset"    BIGINT NOT NULL,
  "reason"                TEXT NOT NULL,
  "parked_at"             TIMESTAMPTZ NOT NULL DEFAULT now(),
  "released_at"           TIMESTAMPTZ,
  PRIMARY KEY ("consumer_group", "topic", "message_key")
);
CREATE INDEX "parked_key_dead_letter_idx" ON "parked_key" ("consumer_group", "dead_letter_event_id");

-- The events that arrived for a parked key, in arrival order (id), with the bytes and string
-- headers they were received with; a redelivery of the same offset is not parked twice.
CREATE TABLE "parked_event" (
  "id"             BIGSERIAL PRIMARY KEY,
  "consumer_group" TEXT NOT NULL,
  "topic"          TEXT NOT NULL,
  "message_key"    TEXT NOT NULL,
  "event_id"       UUID,
  "partition"      INTEGER NOT NULL,
  "offset"         BIGINT NOT NULL,
  "value"          BYTEA,
  "headers"        JSONB NOT NULL,
  "parked_at"      TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE ("consumer_group", "topic", "partition", "offset")
);
CREATE INDEX "parked_event_key_idx" ON "parked_event" ("consumer_group", "topic", "message_key", "id");

-- What became of each dead letter that parked a key: replayed and applied, or discarded by
-- someone with a reason. Kept after the key is released: the audit trail of the decision.
CREATE TABLE "dead_letter_resolution" (
  "id"                 BIGSERIAL PRIMARY KEY,
  "consumer_group"     TEXT NOT NULL,
  "topic"              TEXT NOT NULL,
  "message_key"        TEXT NOT NULL,
  "event_id"           UUID,
  "dead_letter_reason" TEXT NOT NULL,
  "resolution"         TEXT NOT NULL CHECK ("resolution" IN ('replayed', 'discarded')),
  "reason"             TEXT,
  "resolved_by"        TEXT,
  "resolved_at"        TIMESTAMPTZ NOT NULL DEFAULT now()
);
