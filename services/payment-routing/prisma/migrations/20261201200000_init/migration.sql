-- Payment routing's own tables. The outbox, inbox and parked keys come from @tributary/events'
-- shared tables. Money is BIGINT minor units next to a CHAR(3) ISO 4217 currency.

-- CreateEnum
CREATE TYPE "payment_provider" AS ENUM ('alipay', 'wechat_pay', 'unionpay', 'jd_pay', 'ecny');

-- CreateEnum
CREATE TYPE "payment_channel" AS ENUM ('app', 'web', 'mini_program');

-- CreateEnum
-- creating: the row is written, the provider call not yet answered (or its outcome unknown);
-- pending: the provider created it, the buyer has not paid; review: an answer we cannot map.
CREATE TYPE "payment_status" AS ENUM ('creating', 'pending', 'captured', 'failed', 'closed', 'review');

-- CreateEnum
CREATE TYPE "refund_status" AS ENUM ('requested', 'processing', 'succeeded', 'failed');

-- CreateTable
CREATE TABLE "payments" (
    "payment_id" TEXT NOT NULL,
    "order_id" TEXT NOT NULL,
    "merchant_id" TEXT NOT NULL,
    "buyer_id" TEXT NOT NULL,
    "provider" "payment_provider" NOT NULL,
    "channel" "payment_channel" NOT NULL,
    "attempt" INTEGER NOT NULL,
    "status" "payment_status" NOT NULL,
    "amount_minor" BIGINT NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "routing_rule" TEXT NOT NULL,
    "routing_decision" JSONB NOT NULL,
    "rollout_id" TEXT,
    "rollout_arm" TEXT,
    "buyer_action" JSONB,
    "provider_transaction_id" TEXT,
    "provider_status" TEXT,
    "failure_reason" TEXT,
    "refunded_minor" BIGINT NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "next_check_at" TIMESTAMPTZ(3),
    "captured_at" TIMESTAMPTZ(3),

    CONSTRAINT "payments_pkey" PRIMARY KEY ("payment_id"),
    CONSTRAINT "payments_amount_positive" CHECK ("amount_minor" > 0),
    CONSTRAINT "payments_refunded_within_amount" CHECK ("refunded_minor" >= 0 AND "refunded_minor" <= "amount_minor")
);

-- One active payment per order: at most one row per order that is not failed or closed.
CREATE UNIQUE INDEX "payments_one_active_per_order" ON "payments"("order_id") WHERE "status" NOT IN ('failed', 'closed');
CREATE INDEX "payments_order_id_idx" ON "payments"("order_id");
CREATE INDEX "payments_merchant_id_created_at_idx" ON "payments"("merchant_id", "created_at" DESC, "payment_id" DESC);
-- The lost-notification sweeper's work list.
CREATE INDEX "payments_next_check_at_idx" ON "payments"("next_check_at") WHERE "next_check_at" IS NOT NULL;
CREATE INDEX "payments_rollout_id_created_at_idx" ON "payments"("rollout_id", "created_at") WHERE "rollout_id" IS NOT NULL;

-- CreateTable
CREATE TABLE "payment_refunds" (
    "refund_ref" TEXT NOT NULL,
    "payment_id" TEXT NOT NULL,
    "order_id" TEXT NOT NULL,
    "amount_minor" BIGINT NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "reason" TEXT NOT NULL,
    "status" "refund_status" NOT NULL,
    "unowned_capture" BOOLEAN NOT NULL DEFAULT false,
    "provider_refund_id" TEXT,
    "provider_status" TEXT,
    "failure_reason" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "next_check_at" TIMESTAMPTZ(3),

    CONSTRAINT "payment_refunds_pkey" PRIMARY KEY ("refund_ref"),
    CONSTRAINT "payment_refunds_amount_positive" CHECK ("amount_minor" > 0),
    CONSTRAINT "payment_refunds_payment_fkey" FOREIGN KEY ("payment_id") REFERENCES "payments"("payment_id")
);
CREATE INDEX "payment_refunds_payment_id_idx" ON "payment_refunds"("payment_id");
CREATE INDEX "payment_refunds_next_check_at_idx" ON "payment_refunds"("next_check_at") WHERE "next_check_at" IS NOT NULL;

-- CreateTable
-- Every provider notification id (or nonce) we accepted: a second delivery is a replay.
CREATE TABLE "webhook_notifications" (
    "provider" "payment_provider" NOT NULL,
    "notification_id" TEXT NOT NULL,
    "payment_id" TEXT NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "webhook_notifications_pkey" PRIMARY KEY ("provider", "notification_id")
);
CREATE INDEX "webhook_notifications_received_at_idx" ON "webhook_notifications"("received_at");

-- CreateTable
-- Every version of the routing policy; the highest is current. Written through Prisma Client.
CREATE TABLE "routing_policy_versions" (
    "version" INTEGER NOT NULL,
    "policy" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "created_by" TEXT NOT NULL,

    CONSTRAINT "routing_policy_versions_pkey" PRIMARY KEY ("version")
);

-- CreateTable
-- Who changed the policy, when, from what to what; automatic guardrail pauses included.
CREATE TABLE "routing_audit" (
    "id" BIGSERIAL NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "actor" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "rollout_id" TEXT,
    "from_version" INTEGER NOT NULL,
    "to_version" INTEGER NOT NULL,
    "reason" TEXT NOT NULL,
    "before" JSONB NOT NULL,
    "after" JSONB NOT NULL,

    CONSTRAINT "routing_audit_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "routing_audit_at_idx" ON "routing_audit"("at");
