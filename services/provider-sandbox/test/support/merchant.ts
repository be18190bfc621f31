// Merchant-side helpers for the integration tests: they sign and verify with node:crypto
// directly, independent of the sandbox's own signing modules, so a bug there cannot hide.
import { createCipheriv, createDecipheriv, createHash, createHmac, createSign, createVerify, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

export function sortedKv(params: Record<string, string>, exclude: readonly string[]): string {
  return Object.keys(params)
    .filter((k) => !exclude.includes(k) && params[k] !== "")
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join("&");
}

export function rsaSha256(content: string, privateKeyPem: string): string {
  return createSign("RSA-SHA256").update(content, "utf8").sign(privateKeyPem, "base64");
}

export function rsaSha256Verify(content: string, signature: string, publicKeyPem: string): boolean {
  try {
    return createVerify("RSA-SHA256").update(content, "utf8").verify(publicKeyPem, signature, "base64");
  } catch {
    return false;
  }
}

export function shanghaiNow(ms: number): string {
  const d = new Date(ms + 8 * 3600_000);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

/** Calls the Alipay gateway like the official SDK and returns the parsed and verified response. */
export async function alipayCall(
  creds: { gatewayUrl: string; appId: string; appPrivateKeyPem: string; alipayPublicKeyPem: string },
  method: string,
  biz: object,
  nowMs: number,
  options: { notifyUrl?: string; tamper?: boolean } = {},
): Promise<{ payload: Record<string, unknown>; signatureValid: boolean }> {
  const params = signedAlipayParams(creds, method, biz, nowMs, options.notifyUrl);
  if (options.tamper === true) params["biz_content"] = params["biz_content"]!.replace("}", ' }');
  const response = await fetch(creds.gatewayUrl, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded;charset=utf-8" },
    body: new URLSearchParams(params).toString(),
  });
  const text = await response.text();
  const key = `${method.replaceAll(".", "_")}_response`;
  // The signature covers the raw JSON text of the response value: cut it out of the body.
  const start = text.indexOf(`"${key}":`) + key.length + 3;
  const end = text.lastIndexOf(`,"sign":"`);
  const raw = text.slice(start, end);
  const sign = (JSON.parse(text) as { sign: string }).sign;
  return { payload: JSON.parse(raw) as Record<string, unknown>, signatureValid: rsaSha256Verify(raw, sign, creds.alipayPublicKeyPem) };
}

/** The common parameters of an Alipay request with `biz_content`, signed RSA2 with the app's key. */
function signedAlipayParams(
  creds: { appId: string; appPrivateKeyPem: string },
  method: string,
  biz: object,
  nowMs: number,
  notifyUrl?: string,
): Record<string, string> {
  const params: Record<string, string> = {
    app_id: creds.appId,
    method,
    format: "JSON",
    charset: "utf-8",
    sign_type: "RSA2",
    timestamp: shanghaiNow(nowMs),
    version: "1.0",
    biz_content: JSON.stringify(biz),
  };
  if (notifyUrl !== undefined) params["notify_url"] = notifyUrl;
  params["sign"] = rsaSha256(sortedKv(params, ["sign"]), creds.appPrivateKeyPem);
  return params;
}

/** An app payment's order string as the merchant's server signs it (Alipay's server SDK `sdkExecute`). */
export function alipayOrderString(creds: { appId: string; appPrivateKeyPem: string }, method: string, biz: object, nowMs: number): string {
  return new URLSearchParams(signedAlipayParams(creds, method, biz, nowMs)).toString();
}

/** Calls WeChat Pay API v3 with a signed Authorization header and verifies the signed response. */
export async function wechatCall(
  creds: { baseUrl: string; mchid: string; merchantPrivateKeyPem: string; merchantSerial: string; platformPublicKeyPem: string },
  method: "GET" | "POST",
  pathAndQuery: string,
  body: object | undefined,
  nowMs: number,
  options: { badSignature?: boolean } = {},
): Promise<{ status: number; json: Record<string, unknown> | undefined; text: string; signatureValid: boolean; raw: Buffer }> {
  const bodyText = body === undefined ? "" : JSON.stringify(body);
  const timestamp = String(Math.floor(nowMs / 1000));
  const nonce = randomBytes(16).toString("hex");
  let signature = rsaSha256(`${method}\n${pathAndQuery}\n${timestamp}\n${nonce}\n${bodyText}\n`, creds.merchantPrivateKeyPem);
  if (options.badSignature === true) signature = signature.slice(0, 10) + (signature[10] === "A" ? "B" : "A") + signature.slice(11);
  const response = await fetch(`${creds.baseUrl}${pathAndQuery}`, {
    method,
    headers: {
      authorization: `WECHATPAY2-SHA256-RSA2048 mchid="${creds.mchid}",nonce_str="${nonce}",signature="${signature}",timestamp="${timestamp}",serial_no="${creds.merchantSerial}"`,
      accept: "application/json",
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: bodyText }),
  });
  const raw = Buffer.from(await response.arrayBuffer());
  const text = raw.toString("utf8");
  const ts = response.headers.get("wechatpay-timestamp") ?? "";
  const n = response.headers.get("wechatpay-nonce") ?? "";
  const sig = response.headers.get("wechatpay-signature") ?? "";
  let json: Record<string, unknown> | undefined;
  try {
    json = text === "" ? undefined : (JSON.parse(text) as Record<string, unknown>);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text, raw, signatureValid: rsaSha256Verify(`${ts}\n${n}\n${text}\n`, sig, creds.platformPublicKeyPem) };
}

export function aesGcmDecrypt(key: string, resource: { ciphertext: string; nonce: string; associated_data: string }): string {
  const data = Buffer.from(resource.ciphertext, "base64");
  const decipher = createDecipheriv("aes-256-gcm", Buffer.from(key), Buffer.from(resource.nonce));
  decipher.setAAD(Buffer.from(resource.associated_data));
  decipher.setAuthTag(data.subarray(data.length - 16));
  return Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString("utf8");
}

export function aesGcmEncrypt(key: string, plaintext: string, nonce: string, aad: string): string {
  const cipher = createCipheriv("aes-256-gcm", Buffer.from(key), Buffer.from(nonce));
  cipher.setAAD(Buffer.from(aad));
  return Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]).toString("base64");
}

/** UnionPay signMethod=01 done by hand: sha256 hex of the sorted string, then SHA256withRSA. */
export function unionpaySignByHand(params: Record<string, string>, privateKeyPem: string, certId: string): Record<string, string> {
  const withCert = { ...params, certId, signMethod: "01" };
  const digest = createHash("sha256").update(sortedKv(withCert, ["signature"]), "utf8").digest("hex");
  return { ...withCert, signature: rsaSha256(digest, privateKeyPem) };
}

export function unionpayVerifyByHand(params: Record<string, string>, publicKeyPem: string): boolean {
  const digest = createHash("sha256").update(sortedKv(params, ["signature"]), "utf8").digest("hex");
  return rsaSha256Verify(digest, params["signature"] ?? "", publicKeyPem);
}

/** Parses an ACP sync response: split on & and the first =, no URL-decoding. */
export function parseAcpResponse(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text.split("&")) {
    const at = pair.indexOf("=");
    out[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return out;
}

export function hmacHex(message: string, secret: string): string {
  return createHmac("sha256", secret).update(message, "utf8").digest("hex");
}

/** A merchant notification endpoint on a free port that records what it receives. */
export interface NotifyReceiver {
  readonly url: string;
  readonly received: { headers: IncomingMessage["headers"]; body: string }[];
  /** Decides the answer to each request: status and body. */
  answer: (body: string, headers: IncomingMessage["headers"]) => { status: number; body: string };
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<NotifyReceiver> {
  const received: NotifyReceiver["received"] = [];
  const receiver: NotifyReceiver = {
    url: "",
    received,
    answer: () => ({ status: 200, body: "success" }),
    async waitFor(predicate, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate()) {
        if (Date.now() > deadline) throw new Error("waitFor timed out");
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      received.push({ headers: req.headers, body });
      const { status, body: out } = receiver.answer(body, req.headers);
      res.writeHead(status, { "content-type": "text/plain" });
      res.end(out);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  (receiver as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify`;
  return receiver;
}

/** A clock the test can jump forward, still ticking in real time in between. */
export function jumpClock(startMs: number): { nowMs(): number; jumpTo(ms: number): void } {
  let base = startMs;
  let realStart = Date.now();
  return {
    nowMs: () => base + (Date.now() - realStart),
    jumpTo: (ms) => {
      base = ms;
      realStart = Date.now();
    },
  };
}
