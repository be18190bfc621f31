import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * The signature scheme of our own JSON API for JD Pay and e-CNY (documented in the README):
 * lowercase hex HMAC-SHA256 under the merchant secret over
 * `METHOD\nPATH?QUERY\nTIMESTAMP\nNONCE\nBODY\n`, carried in `X-Sandbox-Signature` with
 * `X-Sandbox-Merchant-Id`, `X-Sandbox-Timestamp` (unix seconds) and `X-Sandbox-Nonce`.
 * Responses and notifications sign `STATUS\nTIMESTAMP\nNONCE\nBODY\n` the same way
 * (notifications use status 0).
 */
export function hmacRequestMessage(method: string, pathAndQuery: string, timestamp: string, nonce: string, body: string): string {
  return `${method}\n${pathAndQuery}\n${timestamp}\n${nonce}\n${body}\n`;
}

/** The message a response or notification signs. */
export function hmacResponseMessage(status: number, timestamp: string, nonce: string, body: string): string {
  return `${status}\n${timestamp}\n${nonce}\n${body}\n`;
}

/** Lowercase hex HMAC-SHA256. */
export function hmacSign(message: string, secret: string): string {
  return createHmac("sha256", secret).update(message, "utf8").digest("hex");
}

/** Constant-time check of a hex HMAC-SHA256. */
export function hmacVerify(message: string, signatureHex: string, secret: string): boolean {
  const expected = Buffer.from(hmacSign(message, secret), "hex");
  const given = Buffer.from(signatureHex, "hex");
  return given.length === expected.length && timingSafeEqual(given, expected);
}
