-- Reports read a batch's entries in entry-id order in keyset pages: with this index each page is
-- an ordered range scan of one batch instead of a sort of the whole day.
CREATE INDEX "batch_entry_batch_id_entry_id_idx" ON "batch_entry"("batch_id", "entry_id");
