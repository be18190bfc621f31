import type { Result } from "@tributary/result";

/** A bill as downloaded: the provider's own bytes, untouched, and the digest the provider stated. */
export interface FetchedBill {
  readonly fileName: string;
  readonly bytes: Buffer;
  /** The digest the provider published for the file (WeChat's SHA-1), already checked. */
  readonly providerDigest: { readonly algorithm: string; readonly hex: string } | undefined;
}

/** Why a download failed; `retryable` is decided here, where the failure is understood. */
export interface BillFetchError {
  readonly code: "bill_not_ready" | "download_failed" | "bad_signature" | "digest_mismatch" | "provider_error";
  readonly message: string;
  readonly retryable: boolean;
}

/** Downloads one provider's bill for a day through that provider's own signed download API. */
export interface BillSource {
  fetch(billDate: string): Promise<Result<FetchedBill, BillFetchError>>;
}

/** A failed request (no answer): worth retrying. */
export function transportError(what: string, error: unknown): BillFetchError {
  return { code: "download_failed", message: `${what}: ${error instanceof Error ? error.message : String(error)}`, retryable: true };
}
