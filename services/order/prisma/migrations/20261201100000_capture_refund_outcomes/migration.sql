-- CreateEnum
CREATE TYPE "capture_refund_status" AS ENUM ('requested', 'refunded', 'refund_failed');

-- AlterTable
ALTER TABLE "unowned_captures" ADD COLUMN     "refund_failed_reason" TEXT,
ADD COLUMN     "refund_outcome_at" TIMESTAMPTZ(3),
ADD COLUMN     "refund_status" "capture_refund_status" NOT NULL DEFAULT 'requested';

-- CreateIndex
CREATE INDEX "unowned_captures_refund_status_recorded_at_idx" ON "unowned_captures"("refund_status", "recorded_at");
