import { createHash, createSign, createVerify } from "node:crypto";

/**
 * UnionPay's string to sign (ACP SDK `coverMap2String` after `filterBlank`): every field except
 * `signature` with a non-empty value, sorted by key, joined as `k=v&…`.
 */
export function unionpaySigningString(params: Readonly<Record<string, string>>): string {
  return Object.keys(params)
    .filter((key) => key !== "signature" && params[key] !== undefined && params[key] !== "")
    .sort()
    .map((key) => `${key}=${params[key] ?? ""}`)
    .join("&");
}

/**
 * `signMethod=01` (version 5.1.0): SHA-256 of the string as lowercase hex, then SHA256withRSA
 * over that hex text, base64. Returns the params with `certId`, `signMethod` and `signature` set.
 */
export function signUnionpay(
  params: Readonly<Record<string, string>>,
  privateKeyPem: string,
  certId: string,
): Record<string, string> {
  const withCert: Record<string, string> = { ...params, certId, signMethod: "01" };
  const digestHex = createHash("sha256").update(unionpaySigningString(withCert), "utf8").digest("hex");
  const signature = createSign("RSA-SHA256").update(digestHex, "utf8").sign(privateKeyPem, "base64");
  return { ...withCert, signature };
}

/** Verifies a `signMethod=01` signature; malformed input is false. */
export function verifyUnionpay(params: Readonly<Record<string, string>>, publicKeyPem: string): boolean {
  const signature = params["signature"];
  if (signature === undefined || params["signMethod"] !== "01") return false;
  const digestHex = createHash("sha256").update(unionpaySigningString(params), "utf8").digest("hex");
  try {
    return createVerify("RSA-SHA256").update(digestHex, "utf8").verify(publicKeyPem, signature, "base64");
  } catch {
    return false;
  }
}
