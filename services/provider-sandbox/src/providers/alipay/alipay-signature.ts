import { createSign, createVerify } from "node:crypto";

/**
 * Alipay's string to sign: drop the excluded keys (`sign` for requests and responses; `sign`
 * and `sign_type` when verifying an async notification) and every empty value, sort the rest by
 * key in ASCII order, and join the raw (not URL-encoded) `k=v` pairs with `&`.
 */
export function alipaySigningString(
  params: Readonly<Record<string, string>>,
  exclude: readonly string[] = ["sign"],
): string {
  return Object.keys(params)
    .filter((key) => !exclude.includes(key) && params[key] !== undefined && params[key] !== "")
    .sort()
    .map((key) => `${key}=${params[key] ?? ""}`)
    .join("&");
}

/** RSA2 = SHA256withRSA over the UTF-8 bytes, base64. */
export function rsa2Sign(content: string, privateKeyPem: string): string {
  return createSign("RSA-SHA256").update(content, "utf8").sign(privateKeyPem, "base64");
}

/** Checks an RSA2 signature; a malformed signature is simply false. */
export function rsa2Verify(content: string, signatureBase64: string, publicKeyPem: string): boolean {
  try {
    return createVerify("RSA-SHA256").update(content, "utf8").verify(publicKeyPem, signatureBase64, "base64");
  } catch {
    return false;
  }
}

/**
 * Builds a signed gateway response body exactly as Alipay does: the signature covers the raw
 * JSON text of the `<method>_response` value, and sits beside it as `sign`.
 */
export function signedAlipayResponse(method: string, payload: object, privateKeyPem: string): string {
  const responseKey = `${method.replaceAll(".", "_")}_response`;
  const inner = JSON.stringify(payload);
  return `{"${responseKey}":${inner},"sign":"${rsa2Sign(inner, privateKeyPem)}"}`;
}
