-- StreamRecords reads one provider's business day in booking order, in keyset pages: an index in
-- that order makes each page an ordered range scan instead of a sort of the whole day.
CREATE INDEX "journal_entry_provider_day_booked_idx" ON "journal_entry"("provider", "business_date", "booked_at", "entry_id");
