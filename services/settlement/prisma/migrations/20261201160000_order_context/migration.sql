-- What settlement learns about an order from `OrderAccepted` on orders.v1: the merchant's order
-- reference (for records and reports) and the channel and category its provider fee may depend on.

-- CreateTable
CREATE TABLE "order_context" (
    "order_id" TEXT NOT NULL,
    "merchant_order_ref" TEXT NOT NULL,
    "channel" TEXT,
    "category" TEXT,
    "recorded_at" TIMESTAMPTZ(6) NOT NULL DEFAULT now(),

    CONSTRAINT "order_context_pkey" PRIMARY KEY ("order_id")
);
