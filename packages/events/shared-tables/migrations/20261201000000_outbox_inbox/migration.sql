-- Transactional outbox and idempotent-consumer inbox of @tributary/events: the one copy of this
-- DDL. infra/postgres applies this folder to every service database whose package.json says
-- "usesSharedTables": ["@tributary/events"], tracked in "_shared_migrations"; a change to these
-- tables is a new folder here, never an edit, and reaches every service database at its next migrate.
--
-- IF NOT EXISTS / OR REPLACE because the order service's first migration (20261124143000_init)
-- predates this folder and created the same tables itself; on its databases this adopts them.

-- Events written in the same transaction as the state change; the relay publishes them in `id`
-- order and stamps `published_at` once Kafka has acknowledged them.
CREATE TABLE IF NOT EXISTS "outbox" (
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
CREATE INDEX IF NOT EXISTS "outbox_unpublished_idx" ON "outbox" ("id") WHERE "published_at" IS NULL;

-- Wakes the relay (LISTEN outbox) when a transaction that appended events commits; NOTIFY is
-- delivered only on commit, and one statement-level trigger sends one notification per INSERT.
CREATE OR REPLACE FUNCTION "outbox_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('outbox', '');
  RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS "outbox_notify_after_insert" ON "outbox";
CREATE TRIGGER "outbox_notify_after_insert"
  AFTER INSERT ON "outbox" FOR EACH STATEMENT EXECUTE FUNCTION "outbox_notify"();

-- One row per (consumer group, event) the service has applied; a second delivery finds it and
-- is skipped. Written in the same transaction as the handler's effect.
CREATE TABLE IF NOT EXISTS "inbox" (
  "consumer_group" TEXT NOT NULL,
  "event_id"       UUID NOT NULL,
  "topic"          TEXT NOT NULL,
  "partition"      INTEGER NOT NULL,
  "offset"         BIGINT NOT NULL,
  "processed_at"   TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY ("consumer_group", "event_id")
);
