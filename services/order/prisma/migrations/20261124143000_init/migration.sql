-- CreateEnum
CREATE TYPE "order_status" AS ENUM ('accepted', 'paid', 'payment_failed', 'cancelled', 'partially_refunded', 'refunded');

-- CreateEnum
CREATE TYPE "order_channel" AS ENUM ('app', 'web', 'mini_program');

-- CreateEnum
CREATE TYPE "payment_provider" AS ENUM ('alipay', 'wechat_pay', 'unionpay', 'jd_pay', 'ecny');

-- CreateEnum
CREATE TYPE "refund_status" AS ENUM ('requested', 'completed', 'failed');

-- CreateTable
CREATE TABLE "orders" (
    "order_id" UUID NOT NULL,
    "merchant_id" TEXT NOT NULL,
    "merchant_order_ref" TEXT NOT NULL,
    "buyer_id" TEXT NOT NULL,
    "buyer_country" CHAR(2),
    "currency" CHAR(3) NOT NULL,
    "total_minor" BIGINT NOT NULL,
    "channel" "order_channel" NOT NULL,
    "preferred_provider" "payment_provider",
    "status" "order_status" NOT NULL,
    "paid_minor" BIGINT NOT NULL,
    "refunded_minor" BIGINT NOT NULL,
    "payment_id" TEXT,
    "payment_failure_reason" TEXT,
    "cancel_reason" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "orders_pkey" PRIMARY KEY ("order_id")
);

-- CreateTable
CREATE TABLE "order_lines" (
    "order_id" UUID NOT NULL,
    "line_no" INTEGER NOT NULL,
    "sku" TEXT NOT NULL,
    "category" TEXT NOT NULL,
    "quantity" BIGINT NOT NULL,
    "unit_price_minor" BIGINT NOT NULL,
    "currency" CHAR(3) NOT NULL,

    CONSTRAINT "order_lines_pkey" PRIMARY KEY ("order_id","line_no")
);

-- CreateTable
CREATE TABLE "order_refunds" (
    "order_id" UUID NOT NULL,
    "refund_ref" TEXT NOT NULL,
    "amount_minor" BIGINT NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "reason" TEXT NOT NULL,
    "status" "refund_status" NOT NULL,
    "requested_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "order_refunds_pkey" PRIMARY KEY ("order_id","refund_ref")
);

-- CreateIndex
CREATE UNIQUE INDEX "orders_merchant_id_merchant_order_ref_key" ON "orders"("merchant_id", "merchant_order_ref");

-- CreateIndex
CREATE INDEX "orders_merchant_id_created_at_order_id_idx" ON "orders"("merchant_id", "created_at" DESC, "order_id" DESC);

-- AddForeignKey
ALTER TABLE "order_lines" ADD CONSTRAINT "order_lines_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "orders"("order_id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "order_refunds" ADD CONSTRAINT "order_refunds_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "orders"("order_id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Transactional outbox and idempotent-consumer inbox of @tributary/events.
-- Each service pastes this text into one of its own Prisma migrations (see the package README).

-- Events written in the same transaction as the state change; the relay publishes them in `id`
-- order and stamps `published_at` once Kafka has acknowledged them.
CREATE TABLE "outbox" (
  "id"           BIGSERIAL PRIMARY KEY,
  "event_id"     UUID NOT NULL UNIQUE,
  "topic"        TEXT NOT NULL,
  "message_key"  TEXT NOT NULL,
  "event_type"   TEXT NOT NULL,
  "payload"      BYTEA NOT NULL,
  "headers"      JSONB NOT NULL,
  "created_at"   TIMESTAMPTZ NOT NULL DEFAULT now(),
  "published_at" TIMESTAMPTZ
);
CREATE INDEX "outbox_unpublished_idx" ON "outbox" ("id") WHERE "published_at" IS NULL;

-- Wakes the relay (LISTEN outbox) when a transaction that appended events commits; NOTIFY is
-- delivered only on commit, and one statement-level trigger sends one notification per INSERT.
CREATE FUNCTION "outbox_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('outbox', '');
  RETURN NULL;
END;
$$;
CREATE TRIGGER "outbox_notify_after_insert"
  AFTER INSERT ON "outbox" FOR EACH STATEMENT EXECUTE FUNCTION "outbox_notify"();

-- One row per (consumer group, event) the service has applied; a second delivery finds it and
-- is skipped. Written in the same transaction as the handler's effect.
CREATE TABLE "inbox" (
  "consumer_group" TEXT NOT NULL,
  "event_id"       UUID NOT NULL,
  "topic"          TEXT NOT NULL,
  "partition"      INTEGER NOT NULL,
  "offset"         BIGINT NOT NULL,
  "processed_at"   TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY ("consumer_group", "event_id")
);
