import { createHmacJsonAdapter, type HmacJsonAdapterConfig } from "../hmac-json/client.js";
import type { ProviderAdapter } from "../provider-adapter.js";

/**
 * e-CNY (数字人民币) through its operating institution's merchant API. No public specification was
 * available to mirror, so e-CNY is reached through the generic HMAC JSON API documented in
 * services/provider-sandbox/README.md (under `/ecny/v1`), shared with JD Pay: the wire types,
 * status tables and checks live in `../hmac-json/`, and this file only binds them to e-CNY's
 * provider id and credentials.
 */
export type EcnyAdapterConfig = HmacJsonAdapterConfig;

/** Builds the e-CNY adapter from its merchant id, HMAC secret and API root. */
export function createEcnyAdapter(config: EcnyAdapterConfig): ProviderAdapter {
  return createHmacJsonAdapter("ecny", config);
}
