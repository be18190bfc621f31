-- Payouts: a reconciled batch's payable net moves from merchant payable to payout clearing (an
-- entry of type `payout`) and `PayoutInstructed` goes out; the merchant's payout account comes
-- from `merchant_payout_account`, kept by operators.

-- AlterEnum (the new values are not used in this transaction)
ALTER TYPE "account_kind" ADD VALUE 'payout_clearing';
ALTER TYPE "entry_type" ADD VALUE 'payout';

-- CreateTable
CREATE TABLE "merchant_payout_account" (
    "merchant_id" TEXT NOT NULL,
    "currency" CHAR(3) NOT NULL,
    -- The merchant's account reference as the payout rail knows it (bank account, wallet id).
    "account_reference" TEXT NOT NULL,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT now(),

    CONSTRAINT "merchant_payout_account_pkey" PRIMARY KEY ("merchant_id", "currency"),
    CONSTRAINT "merchant_payout_account_reference_check" CHECK (btrim("account_reference") <> '')
);

-- CreateTable
CREATE TABLE "settlement_payout" (
    "batch_id" TEXT NOT NULL,
    "payout_id" UUID NOT NULL,
    "entry_id" UUID NOT NULL,
    "merchant_id" TEXT NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "amount_minor" BIGINT NOT NULL,
    "account_reference" TEXT NOT NULL,
    "instructed_by" TEXT NOT NULL,
    "instructed_at" TIMESTAMPTZ(6) NOT NULL,

    -- One payout per batch: instructing twice pays once.
    CONSTRAINT "settlement_payout_pkey" PRIMARY KEY ("batch_id"),
    CONSTRAINT "settlement_payout_amount_check" CHECK ("amount_minor" > 0)
);

-- CreateIndex
CREATE UNIQUE INDEX "settlement_payout_payout_id_key" ON "settlement_payout"("payout_id");
