-- Poison rows and retention for the outbox and inbox of @tributary/events.
--
-- A row the broker refuses for good (its topic does not exist, it is larger than the topic
-- accepts, the broker calls it invalid) is quarantined by the relay: "quarantined_at" and the
-- broker's reason are set, and the row stays unpublished until an operator releases it. Later rows
-- of the same topic and key are held behind it (not published), so per-key order survives the
-- quarantine; every other key keeps flowing.
ALTER TABLE "outbox"
  ADD COLUMN "quarantined_at"    TIMESTAMPTZ,
  ADD COLUMN "quarantine_reason" TEXT;

-- The relay's read asks, for each candidate row, whether an older row of its key is quarantined:
-- an index over only the (few) quarantined, unpublished rows answers that without a scan.
CREATE INDEX "outbox_quarantined_idx" ON "outbox" ("topic", "message_key", "id")
  WHERE "quarantined_at" IS NOT NULL AND "published_at" IS NULL;

-- Retention: the relay deletes published rows older than its retention, oldest first, in chunks.
CREATE INDEX "outbox_published_at_idx" ON "outbox" ("published_at") WHERE "published_at" IS NOT NULL;

-- Retention of the inbox: ids older than the inbox retention (longer than any redelivery window)
-- are deleted in chunks, oldest first.
CREATE INDEX "inbox_processed_at_idx" ON "inbox" ("processed_at");
