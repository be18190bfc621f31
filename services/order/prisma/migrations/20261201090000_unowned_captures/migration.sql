-- CreateEnum
CREATE TYPE "unowned_capture_reason" AS ENUM ('order_cancelled', 'order_payment_failed', 'already_paid_by_other_payment', 'order_unknown');

-- CreateTable
CREATE TABLE "unowned_captures" (
    "payment_id" TEXT NOT NULL,
    "order_id" UUID NOT NULL,
    "merchant_id" TEXT NOT NULL,
    "provider" "payment_provider" NOT NULL,
    "provider_transaction_id" TEXT,
    "amount_minor" BIGINT NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "reason" "unowned_capture_reason" NOT NULL,
    "refund_ref" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "recorded_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "unowned_captures_pkey" PRIMARY KEY ("payment_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "unowned_captures_refund_ref_key" ON "unowned_captures"("refund_ref");

-- CreateIndex
CREATE INDEX "unowned_captures_order_id_idx" ON "unowned_captures"("order_id");
