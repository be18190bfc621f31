/**
 * The provider adapters' one way onto the network: Node's `fetch` inside an OpenTelemetry CLIENT
 * span, so a payment's trace shows each call to the provider (which provider, which operation,
 * the HTTP status, how long until the answer's headers) under the worker's or consumer's span.
 * No trace context is sent: a provider does not take `traceparent`, and our ids are not theirs.
 */
import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { ProviderId } from "@tributary/contracts";

/** Which call this is, for the span: the provider and its own name for the operation. */
export interface ProviderCall {
  readonly provider: ProviderId;
  /** The provider's name for it, e.g. `alipay.trade.precreate`, `POST /v3/pay/transactions/native`. */
  readonly operation: string;
}

/**
 * `fetch(url, init)` in a span named `<METHOD> <provider> <operation>`. The span ends when the
 * answer's headers arrive (reading the body is the caller's); a 5xx or a failed request marks it
 * as an error, with the failure recorded. Errors are rethrown as they are: classifying them stays
 * with the adapter.
 */
export async function tracedFetch(call: ProviderCall, url: string | URL, init: RequestInit): Promise<Response> {
  const method = init.method ?? "GET";
  const target = typeof url === "string" ? new URL(url) : url;
  // Taken per call, not when this module loads: a tracer taken before telemetry starts stays a no-op.
  const tracer = trace.getTracer("@tributary/payment-routing");
  return tracer.startActiveSpan(
    `${method} ${call.provider} ${call.operation}`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        "http.request.method": method,
        "server.address": target.hostname,
        "server.port": Number(target.port === "" ? (target.protocol === "https:" ? 443 : 80) : target.port),
        "url.path": target.pathname,
        "tributary.provider": call.provider,
        "tributary.provider.operation": call.operation,
      },
    },
    async (span) => {
      try {
        const response = await fetch(url, init);
        span.setAttribute("http.response.status_code", response.status);
        if (response.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${response.status}` });
        return response;
      } catch (error) {
        span.recordException(error instanceof Error ? error : new Error(String(error)));
        span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
        throw error;
      } finally {
        span.end();
      }
    },
  );
}
