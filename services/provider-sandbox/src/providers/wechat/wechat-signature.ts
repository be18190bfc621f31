import { createCipheriv, createDecipheriv, createSign, createVerify } from "node:crypto";

/** The only Authorization scheme WeChat Pay API v3 accepts. */
export const WECHATPAY_SCHEME = "WECHATPAY2-SHA256-RSA2048";

/** The fields of a `WECHATPAY2-SHA256-RSA2048` Authorization header. */
export interface WechatAuthorization {
  readonly mchid: string;
  readonly nonceStr: string;
  readonly signature: string;
  readonly timestamp: string;
  readonly serialNo: string;
}

/** The message a merchant signs: `METHOD\nURL\ntimestamp\nnonce\nbody\n` (GET keeps the empty body line). */
export function wechatRequestMessage(
  method: string,
  urlPathAndQuery: string,
  timestamp: string,
  nonce: string,
  body: string,
): string {
  return `${method}\n${urlPathAndQuery}\n${timestamp}\n${nonce}\n${body}\n`;
}

/** The message WeChat signs on responses and callbacks: `timestamp\nnonce\nbody\n`. */
export function wechatResponseMessage(timestamp: string, nonce: string, body: string): string {
  return `${timestamp}\n${nonce}\n${body}\n`;
}

/** SHA256withRSA, base64. */
export function wechatSign(message: string, privateKeyPem: string): string {
  return createSign("RSA-SHA256").update(message, "utf8").sign(privateKeyPem, "base64");
}

/** Checks a SHA256withRSA signature; malformed input is false. */
export function wechatVerify(message: string, signatureBase64: string, publicKeyPem: string): boolean {
  try {
    return createVerify("RSA-SHA256").update(message, "utf8").verify(publicKeyPem, signatureBase64, "base64");
  } catch {
    return false;
  }
}

/** Builds the Authorization header a merchant sends (used by tests and example clients). */
export function buildWechatAuthorization(input: {
  mchid: string;
  serialNo: string;
  privateKeyPem: string;
  method: string;
  urlPathAndQuery: string;
  body: string;
  timestamp: string;
  nonce: string;
}): string {
  const signature = wechatSign(
    wechatRequestMessage(input.method, input.urlPathAndQuery, input.timestamp, input.nonce, input.body),
    input.privateKeyPem,
  );
  return `${WECHATPAY_SCHEME} mchid="${input.mchid}",nonce_str="${input.nonce}",signature="${signature}",timestamp="${input.timestamp}",serial_no="${input.serialNo}"`;
}

/** Parses an Authorization header; undefined when the scheme or a field is missing. */
export function parseWechatAuthorization(header: string | undefined): WechatAuthorization | undefined {
  if (header === undefined || !header.startsWith(`${WECHATPAY_SCHEME} `)) return undefined;
  const fields = new Map<string, string>();
  for (const match of header.slice(WECHATPAY_SCHEME.length + 1).matchAll(/(\w+)="([^"]*)"/g)) {
    fields.set(match[1] ?? "", match[2] ?? "");
  }
  const mchid = fields.get("mchid");
  const nonceStr = fields.get("nonce_str");
  const signature = fields.get("signature");
  const timestamp = fields.get("timestamp");
  const serialNo = fields.get("serial_no");
  if (mchid === undefined || nonceStr === undefined || signature === undefined || timestamp === undefined || serialNo === undefined) {
    return undefined;
  }
  return { mchid, nonceStr, signature, timestamp, serialNo };
}

/** The `resource` object of a WeChat Pay callback. */
export interface EncryptedResource {
  readonly algorithm: "AEAD_AES_256_GCM";
  readonly ciphertext: string;
  readonly nonce: string;
  readonly associated_data: string;
  readonly original_type: string;
}

/**
 * Encrypts a callback resource with AEAD_AES_256_GCM under the APIv3 key: IV = the 12-character
 * nonce, AAD = associated_data, and the 16-byte tag appended to the ciphertext before base64.
 */
export function encryptWechatResource(
  apiV3Key: string,
  plaintext: string,
  nonce: string,
  associatedData: string,
  originalType: string,
): EncryptedResource {
  const cipher = createCipheriv("aes-256-gcm", Buffer.from(apiV3Key, "utf8"), Buffer.from(nonce, "utf8"));
  cipher.setAAD(Buffer.from(associatedData, "utf8"));
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
  return {
    algorithm: "AEAD_AES_256_GCM",
    ciphertext: body.toString("base64"),
    nonce,
    associated_data: associatedData,
    original_type: originalType,
  };
}

/** Decrypts a callback resource; undefined when the tag does not verify. */
export function decryptWechatResource(apiV3Key: string, resource: EncryptedResource): string | undefined {
  const data = Buffer.from(resource.ciphertext, "base64");
  if (data.length < 16) return undefined;
  try {
    const decipher = createDecipheriv("aes-256-gcm", Buffer.from(apiV3Key, "utf8"), Buffer.from(resource.nonce, "utf8"));
    decipher.setAAD(Buffer.from(resource.associated_data, "utf8"));
    decipher.setAuthTag(data.subarray(data.length - 16));
    return Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString("utf8");
  } catch {
    return undefined;
  }
}
