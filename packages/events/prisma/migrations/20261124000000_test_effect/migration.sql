-- The events package's own test database (tributary_events, test runs only). Its outbox and inbox
-- come from the shared-tables folder like every service's; this adds the test-only effect table
-- for the package's integration tests and benchmarks. It has no unique constraint on purpose: a
-- doubled delivery would show up as a second row.
CREATE TABLE "test_effect" (
  "id"             BIGSERIAL PRIMARY KEY,
  "consumer_group" TEXT NOT NULL,
  "event_id"       UUID NOT NULL,
  "message_key"    TEXT NOT NULL,
  "event_type"     TEXT NOT NULL,
  "note"           TEXT NOT NULL DEFAULT '',
  "created_at"     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX "test_effect_event_idx" ON "test_effect" ("event_id");
