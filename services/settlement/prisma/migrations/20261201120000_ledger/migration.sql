-- The settlement ledger: accounts, immutable balanced journal entries, append-only postings,
-- two-phase (pending) entries, balance checkpoints, settlement batches. See README.md "Ledger".

-- CreateEnum
CREATE TYPE "account_kind" AS ENUM ('provider_clearing', 'merchant_payable', 'platform_fee_revenue', 'provider_fee_expense', 'merchant_reserve', 'suspense');

-- CreateEnum
CREATE TYPE "payment_provider" AS ENUM ('alipay', 'wechat_pay', 'unionpay', 'jd_pay', 'ecny');

-- CreateEnum
CREATE TYPE "entry_type" AS ENUM ('payment_captured', 'refund_reserved', 'refund_posted', 'reserve_withheld', 'reserve_released', 'adjustment');

-- CreateEnum
CREATE TYPE "entry_phase" AS ENUM ('posted', 'pending');

-- CreateEnum
CREATE TYPE "pending_outcome" AS ENUM ('posted', 'voided');

-- CreateEnum
CREATE TYPE "batch_status" AS ENUM ('closed', 'reconciled', 'held', 'paid_out');

-- CreateTable
CREATE TABLE "ledger_account" (
    "account_id" TEXT NOT NULL,
    "kind" "account_kind" NOT NULL,
    "provider" "payment_provider",
    "merchant_id" TEXT,
    "currency" CHAR(3) NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT now(),

    CONSTRAINT "ledger_account_pkey" PRIMARY KEY ("account_id")
);

-- CreateTable
CREATE TABLE "journal_entry" (
    "entry_id" UUID NOT NULL,
    "source_key" TEXT NOT NULL,
    "source_event_id" TEXT,
    "entry_type" "entry_type" NOT NULL,
    "phase" "entry_phase" NOT NULL,
    "pending_entry_id" UUID,
    "payment_id" TEXT,
    "order_id" TEXT,
    "refund_ref" TEXT,
    "merchant_id" TEXT,
    "provider" "payment_provider",
    "provider_reference" TEXT,
    "currency" CHAR(3) NOT NULL,
    "amount_minor" BIGINT NOT NULL,
    "provider_fee_minor" BIGINT NOT NULL,
    "platform_fee_minor" BIGINT NOT NULL,
    "fee_rate_ppm" BIGINT,
    "reported_fee_minor" BIGINT,
    "provider_fee_rounding" TEXT,
    "platform_fee_rounding" TEXT,
    "merchant_bears_provider_fee" BOOLEAN NOT NULL,
    "business_date" DATE,
    "release_on" DATE,
    "booked_at" TIMESTAMPTZ(6) NOT NULL,
    "recorded_at" TIMESTAMPTZ(6) NOT NULL DEFAULT now(),
    "posting_count" INTEGER NOT NULL,
    "memo" TEXT NOT NULL,
    "approved_by" TEXT,
    "tx_id" BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),

    CONSTRAINT "journal_entry_pkey" PRIMARY KEY ("entry_id"),
    CONSTRAINT "journal_entry_posting_count_check" CHECK ("posting_count" >= 2),
    CONSTRAINT "journal_entry_pending_link_check" CHECK ("pending_entry_id" IS NULL OR "phase" = 'posted')
);

-- CreateTable
CREATE TABLE "ledger_posting" (
    "entry_id" UUID NOT NULL,
    "line_no" INTEGER NOT NULL,
    "account_id" TEXT NOT NULL,
    "currency" CHAR(3) NOT NULL,
    -- Signed: a debit is positive, a credit negative; every entry sums to zero per currency.
    "amount_minor" BIGINT NOT NULL,
    "line_type" TEXT NOT NULL,
    "pending" BOOLEAN NOT NULL,
    -- Copied from the entry by the insert trigger (the as-of balance reads it from the index).
    "booked_at" TIMESTAMPTZ(6) NOT NULL,
    "tx_id" BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),

    CONSTRAINT "ledger_posting_pkey" PRIMARY KEY ("entry_id", "line_no"),
    CONSTRAINT "ledger_posting_amount_check" CHECK ("amount_minor" <> 0)
);

-- CreateTable
CREATE TABLE "pending_resolution" (
    "pending_entry_id" UUID NOT NULL,
    "outcome" "pending_outcome" NOT NULL,
    "resolving_entry_id" UUID,
    "source_event_id" TEXT,
    "reason" TEXT NOT NULL,
    "resolved_at" TIMESTAMPTZ(6) NOT NULL DEFAULT now(),

    CONSTRAINT "pending_resolution_pkey" PRIMARY KEY ("pending_entry_id")
);

-- CreateTable
CREATE TABLE "balance_checkpoint" (
    "checkpoint_id" BIGSERIAL NOT NULL,
    -- The MVCC snapshot the checkpoint summed: a posting is in it iff its transaction was visible.
    "snapshot_xmin" BIGINT NOT NULL,
    "snapshot_xmax" BIGINT NOT NULL,
    "snapshot_xip" BIGINT[],
    "taken_at" TIMESTAMPTZ(6) NOT NULL DEFAULT now(),

    CONSTRAINT "balance_checkpoint_pkey" PRIMARY KEY ("checkpoint_id")
);

-- CreateTable
CREATE TABLE "balance_checkpoint_line" (
    "account_id" TEXT NOT NULL,
    "checkpoint_id" BIGINT NOT NULL,
    "balance_minor" BIGINT NOT NULL,

    CONSTRAINT "balance_checkpoint_line_pkey" PRIMARY KEY ("account_id", "checkpoint_id")
);

-- CreateTable
CREATE TABLE "settlement_batch" (
    "batch_id" TEXT NOT NULL,
    "merchant_id" TEXT NOT NULL,
    "provider" "payment_provider" NOT NULL,
    "business_date" DATE NOT NULL,
    "settlement_date" DATE NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "status" "batch_status" NOT NULL,
    "payment_count" BIGINT NOT NULL,
    "refund_count" BIGINT NOT NULL,
    "gross_minor" BIGINT NOT NULL,
    "refunds_minor" BIGINT NOT NULL,
    "provider_fees_minor" BIGINT NOT NULL,
    "platform_fees_minor" BIGINT NOT NULL,
    "adjustments_minor" BIGINT NOT NULL,
    "reserve_withheld_minor" BIGINT NOT NULL,
    "reserve_released_minor" BIGINT NOT NULL,
    "carried_in_minor" BIGINT NOT NULL,
    "net_minor" BIGINT NOT NULL,
    "payable_minor" BIGINT NOT NULL,
    "carried_forward_minor" BIGINT NOT NULL,
    "closed_at" TIMESTAMPTZ(6) NOT NULL,
    "reconciliation_id" TEXT,
    "discrepancy_count" BIGINT,
    "updated_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "settlement_batch_pkey" PRIMARY KEY ("batch_id")
);

-- CreateTable
CREATE TABLE "batch_entry" (
    "entry_id" UUID NOT NULL,
    "batch_id" TEXT NOT NULL,

    CONSTRAINT "batch_entry_pkey" PRIMARY KEY ("entry_id")
);

-- CreateTable
CREATE TABLE "business_day_close" (
    "provider" "payment_provider" NOT NULL,
    "business_date" DATE NOT NULL,
    "closed_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "business_day_close_pkey" PRIMARY KEY ("provider", "business_date")
);

-- CreateIndex
CREATE UNIQUE INDEX "journal_entry_source_key_key" ON "journal_entry"("source_key");
CREATE INDEX "journal_entry_provider_business_date_idx" ON "journal_entry"("provider", "business_date");
CREATE INDEX "journal_entry_payment_id_idx" ON "journal_entry"("payment_id");
CREATE INDEX "journal_entry_order_id_idx" ON "journal_entry"("order_id");
CREATE INDEX "journal_entry_release_on_idx" ON "journal_entry"("merchant_id", "release_on") WHERE "release_on" IS NOT NULL;
-- "now" balances: the postings after an account's checkpoint, found by transaction id.
CREATE INDEX "ledger_posting_account_tx_idx" ON "ledger_posting"("account_id", "tx_id") INCLUDE ("amount_minor") WHERE NOT "pending";
-- as-of balances: the postings booked up to a time, read from the index alone.
CREATE INDEX "ledger_posting_account_booked_idx" ON "ledger_posting"("account_id", "booked_at") INCLUDE ("amount_minor") WHERE NOT "pending";
CREATE INDEX "ledger_posting_pending_idx" ON "ledger_posting"("account_id") INCLUDE ("amount_minor") WHERE "pending";
-- the checkpointer: every posting not visible in the previous checkpoint's snapshot.
CREATE INDEX "ledger_posting_tx_idx" ON "ledger_posting"("tx_id");
CREATE UNIQUE INDEX "settlement_batch_merchant_provider_date_key" ON "settlement_batch"("merchant_id", "provider", "business_date", "currency");
CREATE INDEX "settlement_batch_business_date_idx" ON "settlement_batch"("business_date", "provider");
CREATE INDEX "batch_entry_batch_id_idx" ON "batch_entry"("batch_id");

-- The genesis checkpoint: an empty snapshot before every transaction, every balance zero.
INSERT INTO "balance_checkpoint" ("checkpoint_id", "snapshot_xmin", "snapshot_xmax", "snapshot_xip", "taken_at")
VALUES (0, 0, 0, '{}', '1970-01-01T00:00:00Z');

-- Immutability: the ledger's rows are never updated or deleted; corrections are new entries.
CREATE FUNCTION "ledger_refuse_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger rows are immutable: % on % refused (post a correcting entry instead)', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'P0001';
END;
$$;

CREATE TRIGGER "ledger_account_immutable" BEFORE UPDATE OR DELETE ON "ledger_account" FOR EACH ROW EXECUTE FUNCTION "ledger_refuse_change"();
CREATE TRIGGER "ledger_account_no_truncate" BEFORE TRUNCATE ON "ledger_account" FOR EACH STATEMENT EXECUTE FUNCTION "ledger_refuse_change"();
CREATE TRIGGER "journal_entry_immutable" BEFORE UPDATE OR DELETE ON "journal_entry" FOR EACH ROW EXECUTE FUNCTION "ledger_refuse_change"();
CREATE TRIGGER "journal_entry_no_truncate" BEFORE TRUNCATE ON "journal_entry" FOR EACH STATEMENT EXECUTE FUNCTION "ledger_refuse_change"();
CREATE TRIGGER "ledger_posting_immutable" BEFORE UPDATE OR DELETE ON "ledger_posting" FOR EACH ROW EXECUTE FUNCTION "ledger_refuse_change"();
CREATE TRIGGER "ledger_posting_no_truncate" BEFORE TRUNCATE ON "ledger_posting" FOR EACH STATEMENT EXECUTE FUNCTION "ledger_refuse_change"();
CREATE TRIGGER "pending_resolution_immutable" BEFORE UPDATE OR DELETE ON "pending_resolution" FOR EACH ROW EXECUTE FUNCTION "ledger_refuse_change"();
CREATE TRIGGER "pending_resolution_no_truncate" BEFORE TRUNCATE ON "pending_resolution" FOR EACH STATEMENT EXECUTE FUNCTION "ledger_refuse_change"();
CREATE TRIGGER "balance_checkpoint_immutable" BEFORE UPDATE OR DELETE ON "balance_checkpoint" FOR EACH ROW EXECUTE FUNCTION "ledger_refuse_change"();
CREATE TRIGGER "balance_checkpoint_line_immutable" BEFORE UPDATE OR DELETE ON "balance_checkpoint_line" FOR EACH ROW EXECUTE FUNCTION "ledger_refuse_change"();

-- A posting joins an entry only in the transaction that wrote the entry (so no later transaction
-- can unbalance a committed entry), takes the entry's phase and booking time, and is checked
-- without locking anything (no foreign key: a FK's KEY SHARE lock on a platform account row would
-- make that row hot again).
CREATE FUNCTION "ledger_posting_admit"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  entry RECORD;
BEGIN
  SELECT "phase", "booked_at", "tx_id" INTO entry FROM "journal_entry" WHERE "entry_id" = NEW."entry_id";
  IF NOT FOUND THEN
    RAISE EXCEPTION 'posting to unknown journal entry %', NEW."entry_id" USING ERRCODE = '23503';
  END IF;
  IF entry."tx_id" <> pg_current_xact_id()::text::bigint THEN
    RAISE EXCEPTION 'journal entry % was committed by another transaction; it cannot take more postings', NEW."entry_id"
      USING ERRCODE = '23514';
  END IF;
  NEW."pending" := entry."phase" = 'pending';
  NEW."booked_at" := entry."booked_at";
  NEW."tx_id" := entry."tx_id";
  RETURN NEW;
END;
$$;

CREATE TRIGGER "ledger_posting_admit" BEFORE INSERT ON "ledger_posting" FOR EACH ROW EXECUTE FUNCTION "ledger_posting_admit"();

-- At commit, every entry written in the transaction must have the postings it declared, on
-- existing accounts of the posting's currency, summing to zero per currency.
CREATE FUNCTION "journal_entry_check_balanced"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  posting_count INTEGER;
  bad RECORD;
BEGIN
  SELECT count(*) INTO posting_count FROM "ledger_posting" WHERE "entry_id" = NEW."entry_id";
  IF posting_count <> NEW."posting_count" THEN
    RAISE EXCEPTION 'journal entry % declares % postings but has %', NEW."entry_id", NEW."posting_count", posting_count
      USING ERRCODE = '23514';
  END IF;
  SELECT p."account_id", p."currency" INTO bad
    FROM "ledger_posting" p LEFT JOIN "ledger_account" a ON a."account_id" = p."account_id"
   WHERE p."entry_id" = NEW."entry_id" AND (a."account_id" IS NULL OR a."currency" <> p."currency")
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'journal entry % posts % to account %, which does not exist in that currency', NEW."entry_id", bad."currency", bad."account_id"
      USING ERRCODE = '23514';
  END IF;
  SELECT "currency", sum("amount_minor") AS "total" INTO bad
    FROM "ledger_posting" WHERE "entry_id" = NEW."entry_id"
   GROUP BY "currency" HAVING sum("amount_minor") <> 0
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'journal entry % is unbalanced: % postings sum to %', NEW."entry_id", bad."currency", bad."total"
      USING ERRCODE = '23514';
  END IF;
  RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER "journal_entry_balanced" AFTER INSERT ON "journal_entry"
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "journal_entry_check_balanced"();
