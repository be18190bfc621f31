-- The W3C traceparent of the span an attempt was created in (the OrderAccepted consumer's, or the
-- worker's on a failover), so the worker's provider calls and the webhook's notification apply
-- continue the order's one trace instead of starting traces of their own. Null for rows written
-- before this column or with tracing off.
ALTER TABLE "payments" ADD COLUMN "trace_parent" TEXT;
