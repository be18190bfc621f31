-- Releasing a held batch once the exceptions that held it are closed: each discrepancy keeps the
-- reconciliation exception it is (DiscrepancyFound.exception_id) and when ExceptionResolved closed
-- it; each run keeps how many discrepancies it reported, so a hold whose discrepancies were not all
-- received is never released by resolutions (a check whose data is missing fails).
ALTER TABLE "reconciliation_discrepancy" ADD COLUMN "exception_id" UUID;
ALTER TABLE "reconciliation_discrepancy" ADD COLUMN "closed_at" TIMESTAMPTZ(6);
CREATE INDEX "reconciliation_discrepancy_exception_idx" ON "reconciliation_discrepancy"("exception_id");

CREATE TABLE "reconciliation_run_report" (
    "reconciliation_id" TEXT NOT NULL,
    "provider" "payment_provider" NOT NULL,
    "business_date" DATE NOT NULL,
    "discrepancy_count" BIGINT NOT NULL,
    "received_at" TIMESTAMPTZ(6) NOT NULL DEFAULT now(),

    CONSTRAINT "reconciliation_run_report_pkey" PRIMARY KEY ("reconciliation_id")
);
