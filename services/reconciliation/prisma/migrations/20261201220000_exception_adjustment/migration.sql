-- An exception closed as adjusted keeps the correction finance approved: the merchant and the
-- signed amount (from the merchant's side, in the exception's currency) that ExceptionResolved
-- carried to settlement. Exceptions adjusted before this migration have none.
ALTER TABLE "recon_exceptions" ADD COLUMN "adjustment_merchant_id" TEXT;
ALTER TABLE "recon_exceptions" ADD COLUMN "adjustment_amount_minor" BIGINT;
ALTER TABLE "recon_exceptions" ADD CONSTRAINT "recon_exceptions_adjustment_whole"
    CHECK (("adjustment_merchant_id" IS NULL) = ("adjustment_amount_minor" IS NULL));
ALTER TABLE "recon_exceptions" ADD CONSTRAINT "recon_exceptions_adjustment_only_when_adjusted"
    CHECK ("adjustment_amount_minor" IS NULL OR ("status" = 'adjusted' AND "adjustment_amount_minor" <> 0));
