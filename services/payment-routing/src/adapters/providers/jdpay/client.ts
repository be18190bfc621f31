import { createHmacJsonAdapter, type HmacJsonAdapterConfig } from "../hmac-json/client.js";
import type { ProviderAdapter } from "../provider-adapter.js";

/**
 * JD Pay (京东支付). No public merchant API specification was available to mirror, so JD Pay is
 * reached through the generic HMAC JSON API documented in services/provider-sandbox/README.md
 * (under `/jdpay/v1`), shared with e-CNY: the wire types, status tables and checks live in
 * `../hmac-json/`, and this file only binds them to JD Pay's provider id and credentials.
 */
export type JdPayAdapterConfig = HmacJsonAdapterConfig;

/** Builds the JD Pay adapter from its merchant id, HMAC secret and API root. */
export function createJdPayAdapter(config: JdPayAdapterConfig): ProviderAdapter {
  return createHmacJsonAdapter("jd_pay", config);
}
