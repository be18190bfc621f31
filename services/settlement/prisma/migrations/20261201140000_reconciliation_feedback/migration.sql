-- What reconciliation reported about a provider's business day: each discrepancy (kept as the
-- exception attached to the batch it concerns) and each completed run.

-- CreateTable
CREATE TABLE "reconciliation_discrepancy" (
    "event_id" UUID NOT NULL,
    "reconciliation_id" TEXT NOT NULL,
    "provider" "payment_provider" NOT NULL,
    "business_date" DATE NOT NULL,
    "discrepancy_class" TEXT NOT NULL,
    "provider_transaction_id" TEXT NOT NULL,
    -- The merchant of our record with that provider transaction id, when we have one.
    "merchant_id" TEXT,
    "currency" CHAR(3),
    "ledger_amount_minor" BIGINT,
    "bill_amount_minor" BIGINT,
    "bill_location" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "received_at" TIMESTAMPTZ(6) NOT NULL DEFAULT now(),

    CONSTRAINT "reconciliation_discrepancy_pkey" PRIMARY KEY ("event_id")
);

-- CreateIndex
CREATE INDEX "reconciliation_discrepancy_run_idx" ON "reconciliation_discrepancy"("reconciliation_id");
