-- The reconciliation service's database (tributary_reconciliation). Money is BIGINT minor units
-- next to a CHAR(3) currency; days are 'YYYY-MM-DD' text in Asia/Shanghai (no time-zone surprises
-- from a DATE type in the driver).

-- CreateTable: every bill file fetched or handed over, byte for byte, with its SHA-256.
CREATE TABLE "bill_files" (
    "bill_file_id" UUID NOT NULL,
    "provider" TEXT NOT NULL,
    "bill_date" CHAR(10) NOT NULL,
    "file_name" TEXT NOT NULL,
    "sha256" CHAR(64) NOT NULL,
    "provider_digest_algorithm" TEXT,
    "provider_digest" TEXT,
    "byte_length" BIGINT NOT NULL,
    "content" BYTEA NOT NULL,
    "fetched_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "bill_files_pkey" PRIMARY KEY ("bill_file_id")
);
CREATE UNIQUE INDEX "bill_files_provider_bill_date_sha256_key" ON "bill_files"("provider", "bill_date", "sha256");

-- CreateTable: one run over one bill file.
CREATE TABLE "recon_runs" (
    "run_id" UUID NOT NULL,
    "provider" TEXT NOT NULL,
    "bill_date" CHAR(10) NOT NULL,
    "bill_file_id" UUID NOT NULL,
    "status" TEXT NOT NULL,
    "rejection" TEXT,
    "supersedes_run_id" UUID,
    "bill_row_count" BIGINT NOT NULL,
    "ledger_record_count" BIGINT NOT NULL,
    "matched_count" BIGINT NOT NULL,
    "discrepancy_count" BIGINT NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "bill_net_minor" BIGINT NOT NULL,
    "ledger_net_minor" BIGINT NOT NULL,
    "class_totals" JSONB NOT NULL,
    "difference" JSONB,
    "carry_forward" JSONB NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL,
    "completed_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "recon_runs_pkey" PRIMARY KEY ("run_id"),
    CONSTRAINT "recon_runs_status_check" CHECK ("status" IN ('completed', 'superseded', 'rejected')),
    CONSTRAINT "recon_runs_bill_file_id_fkey" FOREIGN KEY ("bill_file_id") REFERENCES "bill_files"("bill_file_id")
);
-- At most one current (completed) run per provider and day; a corrected bill supersedes it.
CREATE UNIQUE INDEX "recon_runs_current_key" ON "recon_runs"("provider", "bill_date") WHERE "status" = 'completed';
CREATE INDEX "recon_runs_provider_bill_date_idx" ON "recon_runs"("provider", "bill_date");

-- CreateTable: every item a run decided.
CREATE TABLE "recon_items" (
    "run_id" UUID NOT NULL,
    "item_no" INTEGER NOT NULL,
    "match_class" TEXT NOT NULL,
    "disposition" TEXT NOT NULL,
    "item_key" TEXT NOT NULL,
    "bill_locations" TEXT NOT NULL,
    "ledger_record_ids" TEXT NOT NULL,
    "bill_amount_minor" BIGINT,
    "ledger_amount_minor" BIGINT,
    "carried_from" CHAR(10),
    "description" TEXT NOT NULL,

    CONSTRAINT "recon_items_pkey" PRIMARY KEY ("run_id", "item_no"),
    CONSTRAINT "recon_items_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "recon_runs"("run_id")
);

-- CreateTable: the exceptions queue finance works through.
CREATE TABLE "recon_exceptions" (
    "exception_id" UUID NOT NULL,
    "provider" TEXT NOT NULL,
    "bill_date" CHAR(10) NOT NULL,
    "run_id" UUID NOT NULL,
    "match_class" TEXT NOT NULL,
    "item_key" TEXT NOT NULL,
    "bill_locations" TEXT NOT NULL,
    "bill_amount_minor" BIGINT,
    "ledger_amount_minor" BIGINT,
    "currency" CHAR(3) NOT NULL,
    "description" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "note" TEXT,
    "resolved_by" TEXT,
    "resolved_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "recon_exceptions_pkey" PRIMARY KEY ("exception_id"),
    CONSTRAINT "recon_exceptions_status_check" CHECK ("status" IN ('open', 'resolved', 'adjusted')),
    CONSTRAINT "recon_exceptions_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "recon_runs"("run_id")
);
CREATE UNIQUE INDEX "recon_exceptions_provider_bill_date_match_class_item_key_key" ON "recon_exceptions"("provider", "bill_date", "match_class", "item_key");
CREATE INDEX "recon_exceptions_status_idx" ON "recon_exceptions"("status", "provider", "bill_date");

-- CreateTable: our side of the match until settlement's gRPC stream is wired (see README): the
-- records of each provider's business day, filled by tests or a feed.
CREATE TABLE "ledger_records" (
    "provider" TEXT NOT NULL,
    "record_id" TEXT NOT NULL,
    "business_date" CHAR(10) NOT NULL,
    "kind" TEXT NOT NULL,
    "provider_txn_id" TEXT NOT NULL,
    "merchant_order_ref" TEXT NOT NULL,
    "provider_refund_id" TEXT NOT NULL,
    "merchant_refund_ref" TEXT NOT NULL,
    "amount_minor" BIGINT NOT NULL,
    "fee_minor" BIGINT NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "status" TEXT NOT NULL,
    "booked_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ledger_records_pkey" PRIMARY KEY ("provider", "record_id")
);
CREATE INDEX "ledger_records_provider_business_date_idx" ON "ledger_records"("provider", "business_date");
