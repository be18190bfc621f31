-- Transactional outbox and idempotent-consumer inbox of @tributary/events.
-- Each service pastes this text into one of its own Prisma migrations (see the package README).

-- Events written in the same transaction as the state change; the relay publishes them in `id`
-- order and stamps `published_at` once Kafka has acknowledged them.
CREATE TABLE "outbox" (
  "id"           BIGSERIAL PRIMARY KEY,
  "event_id"     UUID NOT NULL UNIQUE,
  "topic"        TEXT NOT NULL,
  "message_key"  TEXT NOT NULL,
  "event_type"   TEXT NOT NULL,
  "payload"      BYTEA NOT NULL,
  "headers"      JSONB NOT NULL,
  "created_at"   TIMESTAMPTZ NOT NULL DEFAULT now(),
  "published_at" TIMESTAMPTZ
);
CREATE INDEX "outbox_unpublished_idx" ON "outbox" ("id") WHERE "published_at" IS NULL;

-- Wakes the relay (LISTEN outbox) when a transaction that appended events commits; NOTIFY is
-- delivered only on commit, and one statement-level trigger sends one notification per INSERT.
CREATE FUNCTION "outbox_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('outbox', '');
  RETURN NULL;
END;
$$;
CREATE TRIGGER "outbox_notify_after_insert"
  AFTER INSERT ON "outbox" FOR EACH STATEMENT EXECUTE FUNCTION "outbox_notify"();

-- One row per (consumer group, event) the service has applied; a second delivery finds it and
-- is skipped. Written in the same transaction as the handler's effect.
CREATE TABLE "inbox" (
  "consumer_group" TEXT NOT NULL,
  "event_id"       UUID NOT NULL,
  "topic"          TEXT NOT NULL,
  "partition"      INTEGER NOT NULL,
  "offset"         BIGINT NOT NULL,
  "processed_at"   TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY ("consumer_group", "event_id")
);
