-- The relay's read ("the lowest unpublished, unquarantined ids") as one ordered index scan.
--
-- Since quarantine (20261201010000) the read also filters on "quarantined_at IS NULL", which the
-- old partial index ("published_at IS NULL") did not cover; Postgres then chose a bitmap scan +
-- sort. A bitmap scan never marks the index entries of rows already published as dead, so every
-- read walked every row ever marked published since the last vacuum, and the relay slowed from
-- ~6k to ~2k msg/s as the outbox grew (bench/outbox.ts). With the predicate matching the read, the
-- plan is an ordered index scan, which marks those entries dead the first time it passes them.
CREATE INDEX "outbox_pending_idx" ON "outbox" ("id") WHERE "published_at" IS NULL AND "quarantined_at" IS NULL;
DROP INDEX "outbox_unpublished_idx";
